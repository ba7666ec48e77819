"""Pruning rollup rows past their retention, and an agent's objects with no sample left, in bounded chunks.

The prune pass (kubewatch/repository/prune_pass.py) finds what to prune and deletes it with these.
However big the agent, the writer lock is held for at most PRUNE_PUSHES pushes, or PRUNE_ROWS
rollup rows over at most PRUNE_KEYS objects, or PRUNE_ROWS objects at a time (each well under
50 ms); what can be read without it (which objects have no sample left) is read outside it.
Every chunk is whole in itself: a prune stopped halfway leaves nothing inconsistent, and the next
run takes up the rest.
"""

from kubewatch import packing
from kubewatch.db import driver, read, write
from kubewatch.kinds import KINDS
from kubewatch.repository.push_objects import descriptions_changed, forget_agent

# The chunks (see above). A push row holds a whole push, compressed: up to 1 MiB of objects.
# A push served on waitress's loop thread waits out every hold (kubewatch/rollup_chunks.py). Measured
# with bench/prune_holds.py (200 agents x 30 containers, an hour pruned as the job prunes it): 2,000
# minute rows held the lock 3.5 ms at the median and 12.8 ms at p99; 250 rows 0.6 and 7.8 ms, for
# 1.0 s held in all against 0.8 s. Ten pushes rather than 50 a transaction: p99 7.3 ms against
# 8.8, but a longest hold of 51 ms against 35, and 2.2 s held in all against 1.3 s.
PRUNE_PUSHES = 50
PRUNE_ROWS = 250
PRUNE_KEYS = 500


def prune_rollups(name, objects, step, before, pause):
    """Delete the rollup rows of step before `before` of these objects of kind name, [(agent_id, key)],
    PRUNE_ROWS rows or PRUNE_KEYS objects per transaction, whatever their agents; return how many."""
    deleted, at = 0, 0
    while at < len(objects):
        budget, last = PRUNE_ROWS, min(len(objects), at + PRUNE_KEYS)
        with write() as conn:
            cursor = driver(conn)
            while at < last and budget > 0:
                agent_id, key = objects[at]
                chunk = cursor.execute(_PRUNE_ROLLUPS[name], (agent_id, key, step, agent_id, key, step,
                                                              before, budget)).rowcount
                deleted, budget = deleted + chunk, budget - chunk
                if budget > 0:  # fewer than asked were left: this object is done
                    at += 1
        pause()
    return deleted


def prune_descriptions(agent_id, pause):
    """Delete the agent's objects with no sample left in any tier, PRUNE_ROWS per transaction; return how many.

    Which they are is read outside the writer lock; each delete checks again, under it, that the
    object has no rollup row and is in no push still to roll up, so that one sampled since is kept.
    """
    deleted = 0
    for position, (name, kind) in enumerate(KINDS.items()):
        with read() as conn:
            cursor = driver(conn)
            unsampled = {row[0] for row in cursor.execute(_UNSAMPLED[name], (agent_id, agent_id)).fetchall()}
            seen = set()
            if unsampled:  # in the pushes of the last minutes, not rolled up yet, one blob at a time
                seen = _drop_pending(cursor, agent_id, kind, position, unsampled, seen)
        ordered = sorted(unsampled)
        for at in range(0, len(ordered), PRUNE_ROWS):
            with write([lambda: forget_agent(agent_id)]) as conn:  # the push path remembers objects by key
                cursor = driver(conn)
                seen = _drop_pending(cursor, agent_id, kind, position, unsampled, seen)  # pushed since: kept
                chunk = [key for key in ordered[at:at + PRUNE_ROWS] if key in unsampled]
                if chunk:  # first, as a push does: its row lock before the objects' (no deadlock)
                    descriptions_changed(cursor, agent_id)
                deleted += cursor.executemany(_DELETE[name], [(agent_id, key, agent_id, key)
                                                              for key in chunk]).rowcount
            pause()
    return deleted


def _drop_pending(cursor, agent_id, kind, position, keys, seen):
    """Remove from keys those in the agent's pushes not rolled up, but for those of timestamps in seen;
    return the timestamps of every such push."""
    pending = {row[0] for row in cursor.execute(_PENDING, (agent_id,)).fetchall()}
    for ts in sorted(pending - seen):
        blob = cursor.execute(_PENDING_BLOB[position], (agent_id, ts)).fetchone()
        if blob is not None and blob[0] is not None:
            keys.difference_update(packing.unpack(kind.metrics, blob[0]))
    return pending


_PRUNE_ROLLUPS = {name: f"DELETE FROM {kind.rollups} WHERE agent_id = {{0}} AND key = {{0}} AND step = {{0}} "
                        f"AND bucket IN (SELECT bucket FROM {kind.rollups} WHERE agent_id = {{0}} AND key = {{0}} "
                        f"AND step = {{0}} AND bucket < {{0}} ORDER BY bucket LIMIT {{0}})"
                  for name, kind in KINDS.items()}
# An object with a rolled-up sample has a minute or an hour row, which outlive the raw tier (the
# settings make each tier longer than the one before): one without any, and in no push still to
# roll up, has no sample left anywhere.
_UNSAMPLED = {name: f"SELECT key FROM {kind.table} o WHERE o.agent_id = {{0}} AND NOT EXISTS "
                    f"(SELECT 1 FROM {kind.rollups} r WHERE r.agent_id = {{0}} AND r.key = o.key)"
              for name, kind in KINDS.items()}
_DELETE = {name: f"DELETE FROM {kind.table} WHERE agent_id = {{0}} AND key = {{0}} AND NOT EXISTS "
                 f"(SELECT 1 FROM {kind.rollups} r WHERE r.agent_id = {{0}} AND r.key = {{0}})"
           for name, kind in KINDS.items()}
_PENDING = "SELECT ts FROM pushes WHERE agent_id = {0} AND rolled_up = 0"
_PENDING_BLOB = [f"SELECT {name} FROM pushes WHERE agent_id = {{0}} AND ts = {{0}} AND rolled_up = 0"
                 for name in KINDS]
