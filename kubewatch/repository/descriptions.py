"""Pruning what describes containers, nodes and pods once no tier holds a sample of them."""

from kubewatch import packing
from kubewatch.db import driver
from kubewatch.kinds import KINDS
from kubewatch.repository.push_objects import descriptions_changed

# An object with a rolled-up sample has a minute or an hour row, which outlive the raw tier (the
# settings make each tier longer than the one before): one without any, and in no push still to
# roll up, has no sample left anywhere.
_UNSAMPLED = {name: f"SELECT key FROM {kind.table} o WHERE o.agent_id = {{0}} AND NOT EXISTS "
                    f"(SELECT 1 FROM {kind.rollups} r WHERE r.agent_id = {{0}} AND r.key = o.key)"
              for name, kind in KINDS.items()}
_DELETE = {name: f"DELETE FROM {kind.table} WHERE agent_id = {{0}} AND key = {{0}}" for name, kind in KINDS.items()}
_PENDING = "SELECT containers, nodes, pods FROM pushes WHERE agent_id = {0} AND rolled_up = 0"


def prune_descriptions(conn, agent_id):
    """Delete the agent's objects with no sample left in any tier; return how many were deleted.

    Call it in the transaction that pruned the tiers, after them.
    """
    cursor = driver(conn)
    pending = None
    deleted = 0
    for position, (name, kind) in enumerate(KINDS.items()):
        unsampled = {row[0] for row in cursor.execute(_UNSAMPLED[name], (agent_id, agent_id)).fetchall()}
        if not unsampled:
            continue
        if pending is None:  # the pushes of the last minutes, not rolled up yet: read only when needed
            pending = cursor.execute(_PENDING, (agent_id,)).fetchall()
        for row in pending:
            if row[position] is not None:
                unsampled.difference_update(packing.unpack(kind.metrics, row[position]))
        if unsampled:
            if not deleted:  # first, as a push does: its row lock before the objects' (no deadlock)
                descriptions_changed(cursor, agent_id)
            cursor.executemany(_DELETE[name], [(agent_id, key) for key in sorted(unsampled)])
            deleted += len(unsampled)
    return deleted
