"""A push's containers, nodes and pods: looked up by identity, described when new or changed, remembered.

Every statement runs per push, on the push's driver Cursor (see kubewatch/db.py).
"""

import hashlib
import marshal
import weakref
from operator import attrgetter
from typing import NamedTuple

from kubewatch.db import db
from kubewatch.kinds import KINDS

# What each agent's latest push described, per database: {agent_id: Recalled}, so that a steady
# push needs no read at all. Kept small (a digest and the keys, about 0.5 KB an agent of 30
# containers, not the descriptions themselves: 16 KB), since a server holds it for every agent;
# a push that changes anything reads its objects from the database, which is the truth. Several
# server processes may write one agent's objects (PostgreSQL): each write of them bumps the agent's descriptions_version in its transaction, and what is
# remembered counts only while the version the push reads (with its row lock) is the one it was
# remembered at. Only writers change it, after their commit.
_described = weakref.WeakKeyDictionary()
_BUMP = ("UPDATE agents SET descriptions_version = descriptions_version + 1 WHERE id = {0} "
         "RETURNING descriptions_version")


class Known(NamedTuple):
    key: int
    description: tuple
    described_at: int


class Remembered(NamedTuple):
    """What an agent's latest push of one kind described."""

    digest: bytes  # of its objects' identities and descriptions, in its order (_digest), when kept as pushed
    keys: tuple  # each object's key, in that order


class Recalled:
    """What one push starts from and leaves of an agent's objects: {kind name: Remembered}, at a version."""

    __slots__ = ("version", "kinds", "wrote", "found")

    def __init__(self, version, kinds):
        self.version, self.kinds, self.wrote = version, kinds, False
        self.found = {}  # {kind name: {identity: Known}} of every object the push names, found ahead of it


_NOTHING = Remembered(b"", ())
LOOKUP_SLICE = 500  # identities (or keys) asked for in one statement


class _Statements(NamedTuple):
    known: str  # with {identities}: one "{0}" per identity asked for
    last_key: str
    insert: str
    update: str


def _values(columns):
    """Return a function giving an object's attributes of columns as a tuple."""
    get = attrgetter(*columns)
    return get if len(columns) > 1 else lambda item: (get(item),)


def _as_stored(values):
    """Return values with booleans as 0 or 1: the columns are BIGINT, which PostgreSQL does not fill from a boolean."""
    return tuple(int(value) if value.__class__ is bool else value for value in values)


def _stored(get):
    """Return get with its values as stored (_as_stored)."""
    return lambda item: _as_stored(get(item))


class _Reader(NamedTuple):
    """How a kind's pushed objects are read: their identity, description and measured values."""

    identity: object  # one value, or a tuple when the identity has several columns
    description: object
    measured: object
    row: object  # identity and description, as the insert and update take them


def _statements(kind):
    """Build a kind's statements once, from its column names in kubewatch/kinds.py (never from input)."""
    identity, described = kind.identity, kind.described
    columns = identity + described
    # Rows of identities as a row value: (namespace, name) IN (VALUES (?, ?), ...) for pods.
    match = (f"({', '.join(identity)}) IN (VALUES {{identities}})" if len(identity) > 1
             else f"{identity[0]} IN ({{identities}})")
    return _Statements(
        f"SELECT {', '.join(identity)}, key, {', '.join(described)}, described_at FROM {kind.table} "
        f"WHERE agent_id = {{{{0}}}} AND {match}",
        f"SELECT MAX(key) FROM {kind.table} WHERE agent_id = {{0}}",
        f"INSERT INTO {kind.table} (agent_id, key, {', '.join(columns)}, first_seen, described_at) "
        f"VALUES ({', '.join(['{0}'] * (len(columns) + 4))})",
        # An older push replayed late must not overwrite what a newer one said; the push the agent's
        # state now follows (the last parameter 1) does, whatever its timestamp (a clock fixed).
        f"UPDATE {kind.table} SET {', '.join(f'{c} = {{0}}' for c in described)}, described_at = {{0}} "
        f"WHERE agent_id = {{0}} AND key = {{0}} AND (described_at <= {{0}} OR {{0}} = 1)",
    )


_STATEMENTS = {name: _statements(kind) for name, kind in KINDS.items()}
_READERS = {name: _Reader(attrgetter(*kind.identity), _values(kind.described), _values(kind.measured),
                          _stored(_values(kind.identity + kind.described))) for name, kind in KINDS.items()}


def measured(name, items):
    """Return each pushed object's measured values, in the order of the kind's metrics."""
    return list(map(_READERS[name].measured, items))


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
    remembered = recalled.kinds.get(name, _NOTHING)
    now, items, wrote = _describe(writing, KINDS[name], _STATEMENTS[name], _READERS[name], agent_id, ts, items,
                                  remembered, budget, takes_state, recalled.found.get(name))
    recalled.kinds[name] = now
    recalled.wrote |= wrote
    return now.keys, items, now is not remembered


def remember(writing, agent_id, recalled, on_commit):
    """Bump the agent's descriptions_version if this push wrote descriptions; keep recalled once committed."""
    if recalled.wrote:
        recalled.version = writing.execute(_BUMP, (agent_id,)).fetchone()[0]
    cache = _described.setdefault(writing.engine, {})
    on_commit.append(lambda: cache.__setitem__(agent_id, recalled))


def descriptions_changed(cursor, agent_id):
    """Bump the agent's descriptions_version, in a transaction that deletes or changes its objects."""
    cursor.execute(_BUMP, (agent_id,))


def known_keys(writing, name, agent_id, items):
    """Return the key of each pushed object of kind name, None for one never described."""
    reader = _READERS[name]
    identities = list(map(reader.identity, items))
    known = _lookup(writing, KINDS[name], _STATEMENTS[name], agent_id, identities)
    return [found.key if found is not None else None for found in map(known.get, identities)]


def forget_agent(agent_id):
    """Drop what is remembered of an agent's objects, once the agent is deleted."""
    _described.get(db.engine, {}).pop(agent_id, None)


def _describe(writing, kind, statements, reader, agent_id, ts, items, remembered, budget, takes_state, found=None):
    """Describe new or changed objects; return what is now Remembered of them, with each item's key,
    the items kept (all of them, unless the budget leaves the new ones out), and whether it wrote any.

    found: {identity: Known} of every described object among items, when known already (else looked up)."""
    identities = list(map(reader.identity, items))
    descriptions = list(map(reader.description, items))
    digest = _digest(identities, descriptions)
    if digest == remembered.digest:
        return remembered, items, False  # the steady push: the same objects, described as before
    known = dict(found) if found is not None else _lookup(writing, kind, statements, agent_id, identities)
    new_count = sum(identity not in known for identity in identities)
    if new_count and not budget.allows(kind.name, new_count):
        kept = [index for index, identity in enumerate(identities) if identity in known]
        items, identities, descriptions = ([sequence[index] for index in kept]
                                           for sequence in (items, identities, descriptions))
    new, changed, keys = [], [], []
    as_pushed = True  # every description kept is the push's own
    next_key = None
    for item, identity, description in zip(items, identities, descriptions):
        found = known.get(identity)
        if found is None:
            if next_key is None:
                next_key = (writing.execute(statements.last_key, (agent_id,)).fetchone()[0] or 0) + 1
            found, next_key = Known(next_key, description, ts), next_key + 1
            new.append((agent_id, found.key, *reader.row(item), ts, ts))
        elif description != found.description and (takes_state or ts >= found.described_at):
            changed.append((*_as_stored(description), ts, agent_id, found.key, ts, int(takes_state)))
            found = Known(found.key, description, ts)
        known[identity] = found
        keys.append(found.key)
        as_pushed = as_pushed and found.description == description  # a late push's may be older than the kept
    if new:
        writing.executemany(statements.insert, new)
    if changed:
        writing.executemany(statements.update, changed)
    # The next push like this one is steady only if what is kept is what this one said.
    return Remembered(digest if as_pushed else b"", tuple(keys)), items, bool(new or changed)


def _digest(identities, descriptions):
    """Return 16 bytes that differ, but by a 2**-128 chance, when the identities or descriptions do."""
    return hashlib.blake2b(marshal.dumps((identities, descriptions)), digest_size=16).digest()


def _lookup(writing, kind, statements, agent_id, identities):
    """Return {identity: Known} of the agent's described objects among identities."""
    width = len(kind.identity)
    mark = "{0}" if width == 1 else "(" + ", ".join(["{0}"] * width) + ")"
    known = {}
    # In slices: SQLite's default build takes at most 32,766 parameters a statement.
    for start in range(0, len(identities), LOOKUP_SLICE):
        wanted = identities[start:start + LOOKUP_SLICE]
        values = wanted if width == 1 else [value for identity in wanted for value in identity]
        found = writing.execute(statements.known.format(identities=", ".join([mark] * len(wanted))),
                                (agent_id, *values))
        for row in found.fetchall():
            known[row[0] if width == 1 else tuple(row[:width])] = Known(row[width], tuple(row[width + 1:-1]), row[-1])
    return known
