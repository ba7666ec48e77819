"""The prune pass over every agent: what is past retention is found first, outside the writer lock, and
only that is deleted, several agents per transaction, so that its writes grow with the rows to
delete, not with the agents (the chunks, and the deletes of rollups and descriptions, are
kubewatch/repository/pruning.py's).
"""

from kubewatch.db import driver, read, write
from kubewatch.kinds import KINDS
from kubewatch.repository import pruning
from kubewatch.repository.sample_rows import first_not_rolled_up

MINUTE = 60
# Objects with rollup rows to prune read in pages of this many: what is held stays bounded.
OBJECT_PAGE = 5000


def prune(raw_before, minutes_before=None, hours_before=None, pause=lambda: None):
    """Delete every agent's rolled-up pushes before raw_before and, when given, the minute and hour rollups
    before minutes_before and hours_before, and then the objects with no sample left; return how many
    rows were deleted. pause() runs after each transaction."""
    deleted = _prune_pushes(_agents_with_pushes_before(raw_before), raw_before, pause)
    for name in KINDS:
        for step, before in ((60, minutes_before), (3600, hours_before)):
            after = None
            while before is not None:
                objects = _objects_with_rollups_before(name, step, before, after)
                deleted += pruning.prune_rollups(name, objects, step, before, pause)
                if len(objects) < OBJECT_PAGE:
                    break
                after = objects[-1]
    if minutes_before is not None or hours_before is not None:
        for agent_id in _agents_with_unsampled_objects():
            deleted += pruning.prune_descriptions(agent_id, pause)
    return deleted


def _prune_pushes(agent_ids, raw_before, pause):
    """Delete these agents' rolled-up pushes before raw_before, but for the whole minutes of one not rolled
    up and after it: PRUNE_PUSHES pushes and PRUNE_KEYS agents per transaction at most.

    A minute that still holds a push not rolled up keeps all its pushes: its rollup will be recomputed from them.
    """
    deleted, at = 0, 0
    while at < len(agent_ids):
        budget, last = pruning.PRUNE_PUSHES, min(len(agent_ids), at + pruning.PRUNE_KEYS)
        with write() as conn:
            cursor = driver(conn)
            while at < last and budget > 0:
                # Looked up in the transaction: a late push may have come since the agents were read.
                pending = first_not_rolled_up(conn, agent_ids[at])
                before = raw_before if pending is None else min(raw_before, pending - pending % MINUTE)
                chunk = cursor.execute(_PRUNE_PUSHES, (agent_ids[at], agent_ids[at], before, budget)).rowcount
                deleted, budget = deleted + chunk, budget - chunk
                if budget > 0:  # fewer than asked were left: this agent is done
                    at += 1
        pause()
    return deleted


def _agents_with_pushes_before(before):
    """Return the ids of the agents whose oldest push is older than before (one index seek each)."""
    with read() as conn:
        return [row[0] for row in driver(conn).execute(_OLDEST_PUSH, (before,)).fetchall()]


def _objects_with_rollups_before(name, step, before, after):
    """Return up to OBJECT_PAGE objects of kind name, [(agent_id, key)] in order after `after` (or from the
    first), with a rollup row of step older than before (one index seek each)."""
    with read() as conn:
        if after is None:
            found = driver(conn).execute(_OLD_ROLLUPS[name].format(after=""), (step, before, OBJECT_PAGE))
        else:
            found = driver(conn).execute(_OLD_ROLLUPS[name].format(after=_AFTER),
                                         (step, before, after[0], after[0], after[1], OBJECT_PAGE))
        return [tuple(row) for row in found.fetchall()]


def _agents_with_unsampled_objects():
    """Return the ids of the agents with an object of any kind without a rollup row: it may have no sample left."""
    with read() as conn:
        cursor = driver(conn)
        return sorted({row[0] for statement in _UNSAMPLED.values() for row in cursor.execute(statement).fetchall()})


_PRUNE_PUSHES = ("DELETE FROM pushes WHERE agent_id = {0} AND ts IN (SELECT ts FROM pushes WHERE agent_id = {0} "
                 "AND ts < {0} AND rolled_up = 1 ORDER BY ts LIMIT {0})")
_OLDEST_PUSH = ("SELECT a.id FROM agents a WHERE (SELECT MIN(p.ts) FROM pushes p WHERE p.agent_id = a.id) < {0} "
                "ORDER BY a.id")
_AFTER = "AND (o.agent_id > {0} OR (o.agent_id = {0} AND o.key > {0})) "
_OLD_ROLLUPS = {name: f"SELECT o.agent_id, o.key FROM {kind.table} o WHERE EXISTS (SELECT 1 FROM {kind.rollups} r "
                      f"WHERE r.agent_id = o.agent_id AND r.key = o.key AND r.step = {{{{0}}}} AND r.bucket < {{{{0}}}}) "
                      "{after}ORDER BY o.agent_id, o.key LIMIT {{0}}"
                for name, kind in KINDS.items()}
_UNSAMPLED = {name: f"SELECT DISTINCT o.agent_id FROM {kind.table} o WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {kind.rollups} r WHERE r.agent_id = o.agent_id AND r.key = o.key)"
              for name, kind in KINDS.items()}
