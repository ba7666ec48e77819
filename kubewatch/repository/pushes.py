"""Storing a push: what describes each container, node and pod, and its samples in one row."""

import weakref
from operator import attrgetter
from typing import NamedTuple

from sqlalchemy import bindparam, text

from kubewatch import packing
from kubewatch.db import db, driver_sql, write
from kubewatch.kinds import KINDS

# What each agent's latest push described, per database: {(kind, agent_id): {identity: Known}}.
# A steady push then needs no read at all. Only writers change it, after their commit; it
# assumes, as with SQLite, that one server process writes the pushes of an agent.
_described = weakref.WeakKeyDictionary()


class Known(NamedTuple):
    key: int
    description: tuple
    described_at: int


class _Statements(NamedTuple):
    known: object
    last_key: object
    insert: object
    update: object


def _values(columns):
    """Return a function giving an object's attributes of columns as a tuple."""
    get = attrgetter(*columns)
    return get if len(columns) > 1 else lambda item: (get(item),)


class _Reader(NamedTuple):
    """How a kind's pushed objects are read: their identity, description and measured values."""

    identity: object  # one value, or a tuple when the identity has several columns
    description: object
    measured: object


_READERS = {name: _Reader(attrgetter(*kind.identity), _values(kind.described), _values(kind.measured))
            for name, kind in KINDS.items()}


def _statements(kind):
    """Build a kind's statements once, from its column names in kubewatch/kinds.py (never from input)."""
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
    )


_STATEMENTS = {name: _statements(kind) for name, kind in KINDS.items()}

# The statements every push runs go to the driver's cursor directly, with positional
# parameters: on this path SQLAlchemy's statement handling costs more than SQLite's work.
_MARK_SEEN = (
    "UPDATE agents SET last_seen = {0}, "
    "container_count = CASE WHEN last_push_ts IS NULL OR {0} >= last_push_ts THEN {0} ELSE container_count END, "
    "node_count = CASE WHEN last_push_ts IS NULL OR {0} >= last_push_ts THEN {0} ELSE node_count END, "
    "pod_count = CASE WHEN last_push_ts IS NULL OR {0} >= last_push_ts THEN {0} ELSE pod_count END, "
    "last_push_ts = CASE WHEN last_push_ts IS NULL OR {0} > last_push_ts THEN {0} ELSE last_push_ts END "
    "WHERE id = {0}"
)
_STORED_BEFORE = "SELECT 1 FROM pushes WHERE agent_id = {0} AND ts = {0}"
_RECORD_PUSH = (
    "INSERT INTO pushes (agent_id, ts, received_at, containers, nodes, pods) VALUES ({0}, {0}, {0}, {0}, {0}, {0})"
)


def store_push(agent_id, ts, received_at, objects):
    """Store one push in one transaction; return False when the agent no longer exists.

    objects maps "containers", "nodes" and "pods" to lists of objects with one attribute per column.
    A push whose ts was stored before only marks the agent seen: nothing is stored twice.
    """
    on_commit = []
    with write(on_commit) as conn:
        counts = [len(objects[name]) for name in KINDS]
        cursor = conn.connection.cursor()  # the driver's own: see _MARK_SEEN
        cursor.execute(driver_sql(conn, _MARK_SEEN), (
            received_at, ts, counts[0], ts, counts[1], ts, counts[2], ts, ts, agent_id))
        if not cursor.rowcount:
            return False
        cursor.execute(driver_sql(conn, _STORED_BEFORE), (agent_id, ts))
        if cursor.fetchone():
            return True
        cache = _described.setdefault(db.engine, {})
        blobs = []
        for name, kind in KINDS.items():
            items = objects[name]
            if not items:
                blobs.append(None)
                continue
            keys, known = _describe(conn, kind, _STATEMENTS[name], _READERS[name], agent_id, ts, items,
                                    cache.get((name, agent_id), {}))
            on_commit.append(lambda entry=(name, agent_id), known=known: cache.__setitem__(entry, known))
            blobs.append(packing.pack(kind.metrics, keys, list(map(_READERS[name].measured, items))))
        cursor.execute(driver_sql(conn, _RECORD_PUSH), (agent_id, ts, received_at, *blobs))
    return True


def forget_agent(agent_id):
    """Drop what is remembered of an agent's objects, once the agent is deleted."""
    cache = _described.get(db.engine, {})
    for name in KINDS:
        cache.pop((name, agent_id), None)


def _describe(conn, kind, statements, reader, agent_id, ts, items, remembered):
    """Describe new or changed objects; return each item's key and what is now known of the objects."""
    width = len(kind.identity)
    identities = list(map(reader.identity, items))
    known = {identity: remembered[identity] for identity in identities if identity in remembered}
    unknown = [item for item, identity in zip(items, identities) if identity not in known]
    if unknown:
        wanted = {f"{c}s": sorted({getattr(item, c) for item in unknown}) for c in kind.identity}
        for row in conn.execute(statements.known, {"agent_id": agent_id, **wanted}):
            identity = row[0] if width == 1 else tuple(row[:width])
            known[identity] = Known(row[width], tuple(row[width + 1:-1]), row[-1])
    new, changed, keys = [], [], []
    next_key = None
    for item, identity, description in zip(items, identities, map(reader.description, items)):
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
    return keys, {identity: known[identity] for identity in identities}


def _row(kind, item, agent_id, key, ts):
    return {**{c: getattr(item, c) for c in kind.identity + kind.described}, "agent_id": agent_id, "key": key, "ts": ts}
