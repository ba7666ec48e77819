"""Deleting an agent with everything it stored, in bounded chunks.

Deleting the agent's row deletes every row of it through the foreign keys, in one transaction: for
an agent with a big backlog that held the writer lock for seconds. Here its pushes go DELETE_PUSHES
at a time, then its rollup rows and its objects DELETE_ROWS at a time, each chunk a transaction of
its own, and last the agent's row with what is left (what it pushed meanwhile, its alerts and
silences). The agent is listed, and its token works, until that last transaction; once it commits,
nothing of the agent is left. A delete stopped halfway (a crash) leaves the agent with fewer
samples, never an object sampled but not described: the answer was not given, and the same DELETE
again finishes it.
"""

import time

from sqlalchemy import text

from kubewatch.db import read, write
from kubewatch.kinds import KINDS
from kubewatch.repository.push_objects import forget_agent

# A push row holds a whole push, compressed: up to 1 MiB of objects. Each chunk is well under 50 ms.
DELETE_PUSHES = 50
DELETE_ROWS = 2000
# The writer lock is not fair: released and taken again at once, it would keep pushes waiting. A rest hands it over.
REST_SECONDS = 0.002


def _rest():
    time.sleep(REST_SECONDS)


def delete_agent(org_id, agent_id, pause=_rest):
    """Delete one agent of the organization and every row of it; return False when it has no such agent.

    pause() runs after each chunk's transaction, so that pushes waiting for the writer lock get it.
    """
    with read() as conn:
        found = conn.execute(_FOUND, {"id": agent_id, "org_id": org_id}).first()
    if found is None:
        return False
    _delete_in_chunks(agent_id, _PUSHES, DELETE_PUSHES, pause)
    for kind in KINDS.values():
        _delete_in_chunks(agent_id, text(_ROLLUPS.format(table=kind.rollups)), DELETE_ROWS, pause)
    for kind in KINDS.values():
        # The pushes that named these objects are gone (those pushed since go with the agent's row).
        _delete_in_chunks(agent_id, text(_OBJECTS.format(table=kind.table)), DELETE_ROWS, pause, described=True)
    with write([lambda: forget_agent(agent_id)]) as conn:
        deleted = conn.execute(_DELETE_AGENT, {"id": agent_id, "org_id": org_id}).rowcount
    return deleted == 1


def _delete_in_chunks(agent_id, statement, size, pause, described=False):
    while True:
        # The push path remembers objects by key: a chunk of objects deleted makes it look again.
        with write([lambda: forget_agent(agent_id)] if described else ()) as conn:
            if described:  # first, as a push does: its row lock before the objects' (no deadlock)
                conn.execute(_DESCRIPTIONS_CHANGED, {"id": agent_id})
            deleted = conn.execute(statement, {"id": agent_id, "size": size}).rowcount
        pause()
        if deleted < size:
            return


_FOUND = text("SELECT 1 FROM agents WHERE id = :id AND org_id = :org_id")
_DELETE_AGENT = text("DELETE FROM agents WHERE id = :id AND org_id = :org_id")
# Every server process trusts what it remembers of the agent's objects only at this version (see schema.sql).
_DESCRIPTIONS_CHANGED = text("UPDATE agents SET descriptions_version = descriptions_version + 1 WHERE id = :id")
_PUSHES = text("DELETE FROM pushes WHERE agent_id = :id AND ts IN "
               "(SELECT ts FROM pushes WHERE agent_id = :id ORDER BY ts LIMIT :size)")
_ROLLUPS = ("DELETE FROM {table} WHERE agent_id = :id AND (key, step, bucket) IN "
            "(SELECT key, step, bucket FROM {table} WHERE agent_id = :id ORDER BY key, step, bucket LIMIT :size)")
_OBJECTS = ("DELETE FROM {table} WHERE agent_id = :id AND key IN "
            "(SELECT key FROM {table} WHERE agent_id = :id ORDER BY key LIMIT :size)")
