"""A big push's new objects described ahead of it, in chunks, so that storing it holds the writer lock briefly.

Storing a push is one transaction (repository/pushes.py): a push naming 20,000 objects never
seen held the writer lock 0.5 to 1 s to describe them, while every other push waited. Here its
objects are looked up first without the writer lock, and those not described yet are described
AHEAD_CHUNK at a time, a transaction each, before the push's own transaction. That transaction
then finds them described and only stores its samples and the agent's state, as before: the
push is still whole or nothing to readers, who list an agent's objects from its pushes. An
object described ahead of a push that is never stored (the server stopped, or a refusal) has no
sample: the push's retry finds it described, and the prune deletes it otherwise, as any object
with no sample left. A description that changed is written by the push's own transaction, as before.

Each chunk bumps the agent's descriptions_version, as every write of descriptions does. What is
found here is trusted by the push's transaction only while the version is the one the last chunk
left (a prune, a delete or another push writing descriptions bumps it); else that transaction
looks the objects up again, as for any push. A chunk stops the whole when the version moved since
the one before: the push then describes the rest itself.
"""

import time
from typing import NamedTuple

from kubewatch.db import driver, read, write_cursor, writers_waiting
from kubewatch.kinds import KINDS
from kubewatch.repository import push_objects
from kubewatch.repository.object_descriptions import (NOTHING, READERS, Known, bump_version, describe_objects,
                                                      digest, lookup)
from kubewatch.repository.pushes import _DESCRIBED, TooManyDescribed

# New objects of a push from which they are described ahead, and how many per transaction.
AHEAD_FROM = 1000
AHEAD_CHUNK = 1000
# The writer lock is not fair: released and taken again at once, it would keep the others' pushes
# waiting for the whole. After each chunk the push rests as long as the chunk took, while another
# writer of this process waits: with none waiting, resting would only make the big push slower.
REST_PER_WORK = 1.0
REST_STEP = 0.002  # seconds between two looks at the writers waiting
# Reads the version and, on PostgreSQL, takes the agent's row lock first, as a push does (no deadlock).
_VERSION = "UPDATE agents SET descriptions_version = descriptions_version WHERE id = {0} RETURNING descriptions_version"
_READ_VERSION = "SELECT descriptions_version FROM agents WHERE id = {0}"


class Ahead(NamedTuple):
    """The agent's objects a push names, as found or described ahead of it."""

    version: int  # the agent's descriptions_version they are valid at
    found: dict  # {kind name: {identity: object_descriptions.Known}}


class _AllowAll:
    """The budget of objects described ahead: counted against max_described before any is written."""

    left_out = {}

    def allows(self, name, new):
        return True


def describe_ahead(agent_id, ts, objects, max_described=None, describe_new=True):
    """Describe the new objects of a push at ts in chunks; return its Ahead, or None for a push too small or steady.

    objects as store_push takes them. Raises TooManyDescribed, writing nothing, when they would
    take the agent past max_described (None: no limit). Writes nothing when describe_new is False.
    """
    if not describe_new or sum(len(objects[name]) for name in KINDS) < AHEAD_FROM:
        return None
    # A steady push (the same objects, described as this process remembers them) is left to itself.
    remembered = push_objects.remembered(agent_id)
    unknown = {}
    for name in KINDS:
        items = objects[name]
        if not items:
            continue
        identities = list(map(READERS[name].identity, items))
        kept = remembered.kinds.get(name) if remembered is not None else None
        if kept is None or kept.digest != digest(identities, list(map(READERS[name].description, items))):
            unknown[name] = (items, identities)
    if sum(len(items) for items, _ in unknown.values()) < AHEAD_FROM:
        return None
    found, new = {}, {}
    with read() as conn:
        cursor = driver(conn)
        row = cursor.execute(_READ_VERSION, (agent_id,)).fetchone()
        if row is None:
            return None
        for name, (items, identities) in unknown.items():
            found[name] = lookup(cursor, name, agent_id, identities)
            new[name] = [item for item, identity in zip(items, identities) if identity not in found[name]]
        count = sum(map(len, new.values()))
        if count < AHEAD_FROM:  # the push describes its few new ones itself, and looks up none
            return Ahead(row[0], found)
        if max_described is not None:
            described = cursor.execute(_DESCRIBED, (agent_id,) * len(KINDS)).fetchone()[0]
            if described + count > max_described:
                raise TooManyDescribed(described, count, max_described)
    version, started = row[0], None
    for name, items in new.items():
        for start in range(0, len(items), AHEAD_CHUNK):
            if started is not None:
                rest(REST_PER_WORK * (time.monotonic() - started))
            started = time.monotonic()
            with write_cursor() as writing:
                now = writing.execute(_VERSION, (agent_id,)).fetchone()
                if now is None or now[0] != version:  # changed meanwhile: the push looks its objects up
                    return None
                chunk = items[start:start + AHEAD_CHUNK]
                described, _, _ = describe_objects(writing, name, agent_id, ts, chunk, NOTHING, _AllowAll(), True)
                version = bump_version(writing, agent_id)
            # All new, as the version says: each is described as pushed, at ts.
            found[name].update((identity, Known(key, description, ts)) for identity, description, key in zip(
                map(READERS[name].identity, chunk), map(READERS[name].description, chunk), described.keys))
    return Ahead(version, found)


def rest(longest):
    """Sleep while another writer of this process waits for the writer lock, for at most longest seconds."""
    until = time.monotonic() + longest
    while writers_waiting() and time.monotonic() < until:
        time.sleep(REST_STEP)
