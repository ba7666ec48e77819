"""Reading samples back: one container's raw samples over a time range."""

from sqlalchemy import text

from kubewatch.db import read

_CONTAINER_SAMPLES = text(
    "SELECT s.ts, s.cpu_percent, s.memory_mb, s.memory_limit_mb, s.network_rx_bytes, s.network_tx_bytes, "
    "s.restart_count FROM container_samples s "
    "WHERE s.agent_id = :agent_id AND s.ts BETWEEN :start AND :end AND s.container_key = "
    "(SELECT key FROM containers WHERE agent_id = :agent_id AND runtime_id = :runtime_id) "
    "ORDER BY s.ts"
)


def container_known(agent_id, runtime_id):
    """Tell whether the agent ever pushed a container with this id."""
    with read() as conn:
        return conn.execute(
            text("SELECT 1 FROM containers WHERE agent_id = :agent_id AND runtime_id = :runtime_id"),
            {"agent_id": agent_id, "runtime_id": runtime_id},
        ).first() is not None


def container_samples(agent_id, runtime_id, start, end):
    """Return the container's samples with start <= ts <= end, oldest first, as tuples of
    (ts, cpu_percent, memory_mb, memory_limit_mb, network_rx_bytes, network_tx_bytes, restart_count)."""
    with read() as conn:
        return [tuple(row) for row in conn.execute(
            _CONTAINER_SAMPLES, {"agent_id": agent_id, "runtime_id": runtime_id, "start": start, "end": end})]
