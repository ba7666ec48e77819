"""A push's containers, nodes and pods: looked up by identity, described when new or changed, remembered.

Every statement runs per push, on the push's driver Cursor (see kubewatch/db.py); how objects are
read, looked up and written is object_descriptions.py's, shared with describing ahead of a push.
"""

import weakref

from kubewatch.db import db
from kubewatch.repository.object_descriptions import NOTHING, READERS, bump_version, describe_objects, lookup

# What each agent's latest push described, per database: {agent_id: Recalled}, so that a steady
# push needs no read at all. Kept small (a digest and the keys, about 0.5 KB an agent of 30
# containers, not the descriptions themselves: 16 KB), since a server holds it for every agent;
# a push that changes anything reads its objects from the database, which is the truth. Several
# server processes may write one agent's objects (PostgreSQL): each write of them bumps the agent's descriptions_version in its transaction, and what is
# remembered counts only while the version the push reads (with its row lock) is the one it was
# remembered at. Only writers change it, after their commit.
_described = weakref.WeakKeyDictionary()


class Recalled:
    """What one push starts from and leaves of an agent's objects: {kind name: Remembered}, at a version."""

    __slots__ = ("version", "kinds", "wrote", "found")

    def __init__(self, version, kinds):
        self.version, self.kinds, self.wrote = version, kinds, False
        self.found = {}  # {kind name: {identity: Known}} of every object the push names, found ahead of it


def measured(name, items):
    """Return each pushed object's measured values, in the order of the kind's metrics."""
    return list(map(READERS[name].measured, items))


def remembered(agent_id):
    """Return the Recalled this process keeps of the agent's latest push, or None; valid only at its version."""
    return _described.get(db.engine, {}).get(agent_id)


def recall(writing, agent_id, version):
    """Return what is remembered of the agent's objects, as valid at its descriptions_version version."""
    found = _described.get(writing.engine, {}).get(agent_id)
    return Recalled(version, dict(found.kinds) if found is not None and found.version == version else {})


def recall_also(recalled, found):
    """Give recalled every object of the push found described at its version, of some kinds: {kind name:
    {identity: Known}}; the push looks none of them up."""
    recalled.found = found


def describe(writing, name, agent_id, ts, items, budget, recalled, takes_state=True):
    """Describe a push's new or changed objects of kind name; return (keys, items, changed).

    A description replaces the kept one when the push takes the agent's state (takes_state: it
    happened last on the server's clock, see repository/pushes.py), else when its ts is not older.

    keys: each kept item's key. items: all of them, unless budget.allows(name, new) leaves the new
    ones out. changed: False for the steady push, the same objects described as before. recalled
    (from recall()) is updated with what this push described; remember() keeps it.
    """
    before = recalled.kinds.get(name, NOTHING)
    now, items, wrote = describe_objects(writing, name, agent_id, ts, items, before, budget, takes_state,
                                         recalled.found.get(name))
    recalled.kinds[name] = now
    recalled.wrote |= wrote
    return now.keys, items, now is not before


def remember(writing, agent_id, recalled, on_commit):
    """Bump the agent's descriptions_version if this push wrote descriptions; keep recalled once committed."""
    if recalled.wrote:
        recalled.version = bump_version(writing, agent_id)
    cache = _described.setdefault(writing.engine, {})
    on_commit.append(lambda: cache.__setitem__(agent_id, recalled))


def descriptions_changed(cursor, agent_id):
    """Bump the agent's descriptions_version, in a transaction that deletes or changes its objects."""
    bump_version(cursor, agent_id)


def known_keys(writing, name, agent_id, items):
    """Return the key of each pushed object of kind name, None for one never described."""
    identities = list(map(READERS[name].identity, items))
    known = lookup(writing, name, agent_id, identities)
    return [found.key if found is not None else None for found in map(known.get, identities)]


def forget_agent(agent_id):
    """Drop what is remembered of an agent's objects, once the agent is deleted."""
    _described.get(db.engine, {}).pop(agent_id, None)
