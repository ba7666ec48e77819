"""An agent's described objects: read from a push, looked up by identity, written; shared by a push and describe_ahead.

Every statement runs on the caller's driver Cursor (see kubewatch/db.py).
"""

import hashlib
import marshal
from operator import attrgetter
from typing import NamedTuple

from kubewatch.kinds import KINDS

LOOKUP_SLICE = 500  # identities (or keys) asked for in one statement
_BUMP = ("UPDATE agents SET descriptions_version = descriptions_version + 1 WHERE id = {0} "
         "RETURNING descriptions_version")


class Known(NamedTuple):
    """An object described in the database: its key, its description and the ts of the push that wrote it."""

    key: int
    description: tuple
    described_at: int


class Remembered(NamedTuple):
    """What an agent's latest push of one kind described."""

    digest: bytes  # of its objects' identities and descriptions, in its order (digest()), when kept as pushed
    keys: tuple  # each object's key, in that order


NOTHING = Remembered(b"", ())


class _Statements(NamedTuple):
    known: str  # with {identities}: one "({0}, {0}, ...)" per identity asked for, the agent's id first
    last_key: str
    insert: str
    update: str


class Reader(NamedTuple):
    """How a kind's pushed objects are read: their identity, description and measured values."""

    identity: object  # one value, or a tuple when the identity has several columns
    description: object
    measured: object
    row: object  # identity and description, as the insert and update take them


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


def _statements(kind):
    """Build a kind's statements once, from its column names in kubewatch/kinds.py (never from input)."""
    identity, described = kind.identity, kind.described
    columns = identity + described
    # Each identity a row of VALUES with the agent's id first, joined on the unique index
    # (agent_id, namespace, name) for pods: SQLite looks each row up in that index, PostgreSQL
    # plans from the whole table's statistics. Written as agent_id = ? AND (namespace, name) IN
    # (...), PostgreSQL estimated the agent's objects from statistics older than the agent (a new
    # agent, before the next ANALYZE) at one row and compared every row asked for with each of its
    # objects: 1.3 s a statement of 500 pods for an agent of 10,000, twenty such for its first push.
    joined = " AND ".join(f"o.{column} = v.column{index}" for index, column in enumerate(("agent_id", *identity), 1))
    return _Statements(
        f"SELECT {', '.join(f'o.{column}' for column in (*identity, 'key', *described, 'described_at'))} "
        f"FROM (VALUES {{identities}}) AS v JOIN {kind.table} AS o ON {joined}",
        f"SELECT MAX(key) FROM {kind.table} WHERE agent_id = {{0}}",
        f"INSERT INTO {kind.table} (agent_id, key, {', '.join(columns)}, first_seen, described_at) "
        f"VALUES ({', '.join(['{0}'] * (len(columns) + 4))})",
        # An older push replayed late must not overwrite what a newer one said; the push the agent's
        # state now follows (the last parameter 1) does, whatever its timestamp (a clock fixed).
        f"UPDATE {kind.table} SET {', '.join(f'{c} = {{0}}' for c in described)}, described_at = {{0}} "
        f"WHERE agent_id = {{0}} AND key = {{0}} AND (described_at <= {{0}} OR {{0}} = 1)",
    )


_STATEMENTS = {name: _statements(kind) for name, kind in KINDS.items()}
READERS = {name: Reader(attrgetter(*kind.identity), _values(kind.described), _values(kind.measured),
                        _stored(_values(kind.identity + kind.described))) for name, kind in KINDS.items()}


def bump_version(cursor, agent_id):
    """Bump the agent's descriptions_version, in a transaction that writes or deletes its objects; return it
    (None for an agent gone)."""
    row = cursor.execute(_BUMP, (agent_id,)).fetchone()
    return None if row is None else row[0]


def describe_objects(writing, name, agent_id, ts, items, remembered, budget, takes_state, found=None):
    """Describe new or changed objects of kind name; return what is now Remembered of them, with each item's key,
    the items kept (all of them, unless budget.allows(name, new) leaves the new ones out), and whether it wrote any.

    remembered: what the agent's last push of the kind left (NOTHING when unknown). found: {identity: Known} of
    every described object among items, when known already (else looked up).
    """
    kind, statements, reader = KINDS[name], _STATEMENTS[name], READERS[name]
    identities = list(map(reader.identity, items))
    descriptions = list(map(reader.description, items))
    pushed = digest(identities, descriptions)
    if pushed == remembered.digest:
        return remembered, items, False  # the steady push: the same objects, described as before
    known = dict(found) if found is not None else lookup(writing, name, agent_id, identities)
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
    return Remembered(pushed if as_pushed else b"", tuple(keys)), items, bool(new or changed)


def digest(identities, descriptions):
    """Return 16 bytes that differ, but by a 2**-128 chance, when the identities or descriptions do."""
    return hashlib.blake2b(marshal.dumps((identities, descriptions)), digest_size=16).digest()


def lookup(cursor, name, agent_id, identities):
    """Return {identity: Known} of the agent's described objects of kind name among identities."""
    width = len(KINDS[name].identity)
    known = {}
    # In slices: SQLite's default build takes at most 32,766 parameters a statement.
    for start in range(0, len(identities), LOOKUP_SLICE):
        for row in cursor.execute(*lookup_statement(name, agent_id, identities[start:start + LOOKUP_SLICE])).fetchall():
            known[row[0] if width == 1 else tuple(row[:width])] = Known(row[width], tuple(row[width + 1:-1]), row[-1])
    return known


def lookup_statement(name, agent_id, identities):
    """Return (statement, parameters) selecting the agent's objects of kind name among identities: each found
    object's identity columns, key, described columns and described_at."""
    width = len(KINDS[name].identity)
    mark = "(" + ", ".join(["{0}"] * (width + 1)) + ")"
    parameters = ([value for identity in identities for value in (agent_id, identity)] if width == 1
                  else [value for identity in identities for value in (agent_id, *identity)])
    return _STATEMENTS[name].known.format(identities=", ".join([mark] * len(identities))), parameters
