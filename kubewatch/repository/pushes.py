"""Storing a push: what describes each container, node and pod, and its samples."""

import functools
import weakref
from typing import NamedTuple

from sqlalchemy import bindparam, text

from kubewatch.db import db, write

# What each agent's latest push described, per database: {(kind, agent_id): {identity: Known}}.
# A steady push then needs no read at all. Only writers change it, after their commit; it
# assumes, as with SQLite, that one server process writes the pushes of an agent.
_described = weakref.WeakKeyDictionary()


class Known(NamedTuple):
    key: int
    description: tuple
    described_at: int


class Kind(NamedTuple):
    """How one kind of pushed object is stored: a described table and a samples table."""

    table: str
    samples: str
    key_column: str
    identity: tuple  # the columns that name an object within its agent
    described: tuple  # kept once per object, as last pushed
    measured: tuple  # kept once per sample


KINDS = {
    "containers": Kind(
        "containers", "container_samples", "container_key", ("runtime_id",),
        ("name", "image", "status"),
        ("cpu_percent", "memory_mb", "memory_limit_mb", "network_rx_bytes", "network_tx_bytes",
         "restart_count"),
    ),
    "nodes": Kind(
        "nodes", "node_samples", "node_key", ("name",),
        ("status", "kubelet_version", "cpu_cores", "memory_capacity_mb", "pod_capacity"),
        ("cpu_percent", "memory_mb", "pod_count", "network_rx_bytes", "network_tx_bytes",
         "fs_used_bytes", "fs_capacity_bytes"),
    ),
    "pods": Kind(
        "pods", "pod_samples", "pod_key", ("namespace", "name"),
        ("uid", "node_name", "phase", "ready", "container_count", "ready_containers"),
        ("cpu_percent", "memory_mb", "memory_limit_mb", "network_rx_bytes", "network_tx_bytes",
         "restart_count"),
    ),
}


class _Statements(NamedTuple):
    known: object
    last_key: object
    insert: object
    update: object
    insert_samples: str


def _statements(kind):
    """Build a kind's statements once, from the column names above (never from input)."""
    identity, described = kind.identity, kind.described
    columns = identity + described
    match = " AND ".join(f"{c} IN :{c}s" for c in identity)
    return _Statements(
        text(f"SELECT {', '.join(identity)}, key, {', '.join(described)}, described_at FROM {kind.table} "
             f"WHERE agent_id = :agent_id AND {match}")
        .bindparams(*(bindparam(f"{c}s", expanding=True) for c in identity)),
        text(f"SELECT MAX(key) FROM {kind.table} WHERE agent_id = :agent_id"),
        text(f"INSERT INTO {kind.table} (agent_id, key, {', '.join(columns)}, first_seen, described_at) "
             f"VALUES (:agent_id, :key, {', '.join(':' + c for c in columns)}, :ts, :ts)"),
        # An older push replayed late must not overwrite what a newer one said.
        text(f"UPDATE {kind.table} SET {', '.join(f'{c} = :{c}' for c in described)}, described_at = :ts "
             f"WHERE agent_id = :agent_id AND key = :key AND described_at <= :ts"),
        # Samples are the bulk of every push: they go to the driver as plain tuples, which spares
        # SQLAlchemy's per-row parameter processing (half the cost of a 50-container push).
        f"INSERT INTO {kind.samples} (agent_id, ts, {kind.key_column}, {', '.join(kind.measured)}) "
        f"VALUES ({', '.join(['{0}'] * (3 + len(kind.measured)))})",
    )


_STATEMENTS = {name: _statements(kind) for name, kind in KINDS.items()}

# The statements every push runs go to the driver directly, with positional parameters: on
# this path SQLAlchemy's parameter processing costs more than SQLite's work.
_MARK_SEEN = (
    "UPDATE agents SET last_seen = {0}, "
    "container_count = CASE WHEN last_push_ts IS NULL OR {0} >= last_push_ts THEN {0} ELSE container_count END, "
    "last_push_ts = CASE WHEN last_push_ts IS NULL OR {0} > last_push_ts THEN {0} ELSE last_push_ts END "
    "WHERE id = {0}"
)
_RECORD_PUSH = (
    "INSERT INTO pushes (agent_id, ts, received_at) VALUES ({0}, {0}, {0}) ON CONFLICT (agent_id, ts) DO NOTHING"
)


def _driver(conn, statement):
    """Return the statement with its {0} placeholders in the driver's own parameter marker."""
    return _with_marker(statement, "?" if conn.dialect.paramstyle == "qmark" else "%s")


@functools.lru_cache(maxsize=32)
def _with_marker(statement, marker):
    # Formatted once per statement and driver, not on every push.
    return statement.format(marker)


def store_push(agent_id, ts, received_at, objects):
    """Store one push in one transaction; return False when the agent no longer exists.

    objects maps "containers", "nodes" and "pods" to lists of dicts keyed by column name.
    A push whose ts was stored before only marks the agent seen: nothing is stored twice.
    """
    on_commit = []
    with write(on_commit) as conn:
        seen = conn.exec_driver_sql(_driver(conn, _MARK_SEEN), (
            received_at, ts, len(objects["containers"]), ts, ts, agent_id)).rowcount
        if not seen:
            return False
        first_time = conn.exec_driver_sql(_driver(conn, _RECORD_PUSH), (agent_id, ts, received_at)).rowcount
        if not first_time:
            return True
        cache = _described.setdefault(db.engine, {})
        for name, items in objects.items():
            if items:
                known = _store_kind(conn, KINDS[name], _STATEMENTS[name], agent_id, ts, items,
                                    cache.get((name, agent_id), {}))
                on_commit.append(lambda entry=(name, agent_id), known=known: cache.__setitem__(entry, known))
    return True


def forget_agent(agent_id):
    """Drop what is remembered of an agent's objects, once the agent is deleted."""
    cache = _described.get(db.engine, {})
    for name in KINDS:
        cache.pop((name, agent_id), None)


def _store_kind(conn, kind, statements, agent_id, ts, items, remembered):
    """Describe new or changed objects, insert one sample for each item; return what is now known."""
    width = len(kind.identity)
    identity_of = (lambda item: item[kind.identity[0]]) if width == 1 else (
        lambda item: tuple(item[c] for c in kind.identity))
    identities = [identity_of(item) for item in items]
    known = {identity: remembered[identity] for identity in identities if identity in remembered}
    unknown = [item for item, identity in zip(items, identities) if identity not in known]
    if unknown:
        wanted = {f"{c}s": sorted({item[c] for item in unknown}) for c in kind.identity}
        for row in conn.execute(statements.known, {"agent_id": agent_id, **wanted}):
            identity = row[0] if width == 1 else tuple(row[:width])
            known[identity] = Known(row[width], tuple(row[width + 1:-1]), row[-1])
    new, changed, keys = [], [], []
    next_key = None
    for item, identity in zip(items, identities):
        description = tuple(item.get(c) for c in kind.described)
        found = known.get(identity)
        if found is None:
            if next_key is None:
                next_key = (conn.execute(statements.last_key, {"agent_id": agent_id}).scalar() or 0) + 1
            found, next_key = Known(next_key, description, ts), next_key + 1
            new.append(_row(kind, item, agent_id, found.key, ts))
        elif description != found.description and ts >= found.described_at:
            changed.append(_row(kind, item, agent_id, found.key, ts))
            found = Known(found.key, description, ts)
        known[identity] = found
        keys.append(found.key)
    if new:
        conn.execute(statements.insert, new)
    if changed:
        conn.execute(statements.update, changed)
    conn.exec_driver_sql(
        _driver(conn, statements.insert_samples),
        [(agent_id, ts, key, *(item.get(c) for c in kind.measured)) for key, item in zip(keys, items)],
    )
    return {identity: known[identity] for identity in identities}


def _row(kind, item, agent_id, key, ts):
    return {**{c: item.get(c) for c in kind.identity + kind.described}, "agent_id": agent_id, "key": key, "ts": ts}
