"""What the alert evaluator reads each run: every agent, its newest pushes, the descriptions new since.

Through the driver (see kubewatch/db.py): a run reads each agent's new pushes, for a thousand agents.
"""

from kubewatch.db import driver
from kubewatch.kinds import KINDS

_AGENTS = "SELECT id, org_id, name, last_seen, last_push_ts FROM agents"
_PUSHES = "SELECT ts, containers, nodes, pods FROM pushes WHERE agent_id = {0} AND ts > {0} AND ts <= {0} ORDER BY ts"
_DESCRIBED = {name: f"SELECT key, {', '.join(kind.identity + kind.described)}, described_at FROM {kind.table} "
                    "WHERE agent_id = {0} AND (described_at > {0} OR key > {0})"
              for name, kind in KINDS.items()}


class Window:
    """The evaluator's reads, in the transaction of conn (a read() connection)."""

    def __init__(self, conn):
        self.cursor = driver(conn)

    def agents(self):
        """Return every agent as (id, org_id, name, last_seen, last_push_ts)."""
        return self.cursor.execute(_AGENTS).fetchall()

    def pushes_after(self, agent_id, after, through):
        """Return the agent's pushes with after < ts <= through as (ts, containers, nodes, pods) rows, oldest first."""
        return self.cursor.execute(_PUSHES, (agent_id, after, through)).fetchall()

    def described_after(self, name, agent_id, described_at, key):
        """Return the agent's objects of kind name described after described_at, or with a key above key,
        as (key, *identity, *described, described_at) rows."""
        return self.cursor.execute(_DESCRIBED[name], (agent_id, described_at, key)).fetchall()
