"""Storing a push: what describes each container, node and pod, and its samples in one row."""

import weakref
from operator import attrgetter
from typing import NamedTuple

from kubewatch import packing
from kubewatch.db import db, write_cursor
from kubewatch.kinds import KINDS

# What each agent's latest push described, per database: {(kind, agent_id): Remembered}.
# A steady push then needs no read at all. Only writers change it, after their commit; it
# assumes, as with SQLite, that one server process writes the pushes of an agent.
_described = weakref.WeakKeyDictionary()


class Known(NamedTuple):
    key: int
    description: tuple
    described_at: int


class Remembered(NamedTuple):
    """What an agent's latest push of one kind described."""

    objects: dict  # {identity: Known}
    identities: list  # in the push's order,
    descriptions: list  # with each object's description as kept
    keys: list  # and its key


_NOTHING = Remembered({}, [], [], [])
_LOOKUP_SLICE = 500  # identities looked up in one statement


class _Statements(NamedTuple):
    known: str  # with {identities}: one "{0}" per identity asked for
    last_key: str
    insert: str
    update: str


def _values(columns):
    """Return a function giving an object's attributes of columns as a tuple."""
    get = attrgetter(*columns)
    return get if len(columns) > 1 else lambda item: (get(item),)


class _Reader(NamedTuple):
    """How a kind's pushed objects are read: their identity, description and measured values."""

    identity: object  # one value, or a tuple when the identity has several columns
    description: object
    measured: object
    row: object  # identity and description, as the insert and update take them


def _statements(kind):
    """Build a kind's statements once, from its column names in kubewatch/kinds.py (never from input).

    Every statement of a push goes to the driver's cursor, with positional "{0}" parameters (see
    db.DriverWrite): on this path SQLAlchemy's statement handling cost more than SQLite's work.
    """
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
        # An older push replayed late must not overwrite what a newer one said.
        f"UPDATE {kind.table} SET {', '.join(f'{c} = {{0}}' for c in described)}, described_at = {{0}} "
        f"WHERE agent_id = {{0}} AND key = {{0}} AND described_at <= {{0}}",
    )


_STATEMENTS = {name: _statements(kind) for name, kind in KINDS.items()}
_READERS = {name: _Reader(attrgetter(*kind.identity), _values(kind.described), _values(kind.measured),
                          _values(kind.identity + kind.described)) for name, kind in KINDS.items()}

_MARK_SEEN = (
    "UPDATE agents SET last_seen = {0}, "
    "container_count = CASE WHEN last_push_ts IS NULL OR {0} >= last_push_ts THEN {0} ELSE container_count END, "
    "node_count = CASE WHEN last_push_ts IS NULL OR {0} >= last_push_ts THEN {0} ELSE node_count END, "
    "pod_count = CASE WHEN last_push_ts IS NULL OR {0} >= last_push_ts THEN {0} ELSE pod_count END, "
    "running_count = CASE WHEN last_push_ts IS NULL OR {0} >= last_push_ts THEN {0} ELSE running_count END, "
    # Every right-hand side reads the row as it was: restart_total is still the previous push's.
    "restarted_at = CASE WHEN last_push_ts IS NOT NULL AND {0} >= last_push_ts AND {0} > restart_total THEN {0} "
    "ELSE restarted_at END, "
    "restart_total = CASE WHEN last_push_ts IS NULL OR {0} >= last_push_ts THEN {0} ELSE restart_total END, "
    "last_push_ts = CASE WHEN last_push_ts IS NULL OR {0} > last_push_ts THEN {0} ELSE last_push_ts END "
    "WHERE id = {0}"
)
_STORED_BEFORE = "SELECT containers, nodes, pods FROM pushes WHERE agent_id = {0} AND ts = {0}"
_MARK_SEEN_ONLY = "UPDATE agents SET last_seen = {0} WHERE id = {0}"
_SET_COUNTS = "UPDATE agents SET container_count = {0}, node_count = {0}, pod_count = {0} WHERE id = {0} AND last_push_ts = {0}"
# Objects an agent has described, of every kind: keys are never reused, so each kind's highest key counts them.
_DESCRIBED = "SELECT " + " + ".join(f"COALESCE((SELECT MAX(key) FROM {kind.table} WHERE agent_id = {{0}}), 0)"
                        for kind in KINDS.values())
# A container stopped after running: its kept description changed since it was first seen, and it
# is not running now. Counted only when the newest push's containers or their descriptions changed.
_COUNT_STOPPED = (
    "SELECT COUNT(*) FROM containers WHERE agent_id = {{0}} AND key IN ({keys}) "
    "AND status NOT IN ('running', 'paused') AND described_at > first_seen"
)
_SET_STOPPED = "UPDATE agents SET stopped_count = {0} WHERE id = {0} AND last_push_ts = {0}"
_NONE_STOPPED = "UPDATE agents SET stopped_count = 0 WHERE id = {0} AND last_push_ts = {0} AND stopped_count != 0"
_RECORD_PUSH = (
    "INSERT INTO pushes (agent_id, ts, received_at, containers, nodes, pods) VALUES ({0}, {0}, {0}, {0}, {0}, {0})"
)


class Outcome(NamedTuple):
    """What store_push did with a push."""

    agent_found: bool  # False: the agent is gone, and nothing was stored
    left_out: dict  # {kind: new objects not described, the database being near its size limit}
    differed: bool  # a retry of a stored timestamp, with other samples: nothing of it was stored


STORED, GONE = Outcome(True, {}, False), Outcome(False, {}, False)


class TooManyDescribed(Exception):
    """The push would take its agent past the objects it may have described; nothing was stored."""

    def __init__(self, described, new, limit):
        super().__init__(f"This agent has described {described} objects and pushed {new} new ones: at most "
                         f"{limit} are kept per agent (max_described_objects). Delete the agent to start afresh.")


def _stopped_among(writing, agent_id, keys):
    """Count the containers of these keys that stopped after running, a slice of keys per statement."""
    keys = list(keys)
    stopped = 0
    for start in range(0, len(keys), _LOOKUP_SLICE):
        wanted = keys[start:start + _LOOKUP_SLICE]
        stopped += writing.execute(_COUNT_STOPPED.format(keys=", ".join(["{0}"] * len(wanted))),
                                   (agent_id, *wanted)).fetchone()[0]
    return stopped


def store_push(agent_id, ts, received_at, objects, max_described=None, describe_new=True):
    """Store one push in one transaction and return its Outcome.

    objects maps "containers", "nodes" and "pods" to lists of objects with one attribute per column.
    The first push stored for a timestamp wins whole: a retry only marks the agent seen, and its
    Outcome says whether its samples differed. Raises TooManyDescribed when the push's new objects
    would take the agent past max_described (None: no limit). With describe_new False, new
    objects are left out and their samples with them; the objects already described are stored.
    """
    on_commit = []
    with write_cursor(on_commit) as writing:
        before = writing.execute(_STORED_BEFORE, (agent_id, ts)).fetchone()
        if before is not None:
            found = writing.execute(_MARK_SEEN_ONLY, (received_at, agent_id)).rowcount
            return Outcome(True, {}, not _same_samples(writing, agent_id, objects, before)) if found else GONE
        counts = [len(objects[name]) for name in KINDS]
        containers = objects["containers"]
        running = sum(1 for item in containers if item.status == "running")
        restarts = sum(item.restart_count or 0 for item in containers)
        if not writing.execute(_MARK_SEEN, (
                received_at, ts, counts[0], ts, counts[1], ts, counts[2], ts, running, ts, restarts, ts, ts,
                restarts, ts, ts, agent_id)).rowcount:
            return GONE
        cache = _described.setdefault(writing.engine, {})
        budget = _Budget(writing, agent_id, max_described, describe_new)
        blobs = []
        for name, kind in KINDS.items():
            items = objects[name]
            if not items:
                if name == "containers":
                    writing.execute(_NONE_STOPPED, (agent_id, ts))
                blobs.append(None)
                continue
            reader = _READERS[name]
            kept = cache.get((name, agent_id), _NOTHING)
            remembered, items = _describe(writing, kind, _STATEMENTS[name], reader, agent_id, ts, items, kept, budget)
            if name == "containers" and remembered is not kept:
                if remembered.keys:
                    writing.execute(_SET_STOPPED, (_stopped_among(writing, agent_id, remembered.keys), agent_id, ts))
                else:
                    writing.execute(_NONE_STOPPED, (agent_id, ts))
            on_commit.append(lambda entry=(name, agent_id), now=remembered: cache.__setitem__(entry, now))
            blobs.append(packing.pack(kind.metrics, remembered.keys, list(map(reader.measured, items)))
                         if items else None)
        if budget.left_out:
            counts = [len(objects[name]) - budget.left_out.get(name, 0) for name in KINDS]
            writing.execute(_SET_COUNTS, (*counts, agent_id, ts))
        writing.execute(_RECORD_PUSH, (agent_id, ts, received_at, *blobs))
    return Outcome(True, budget.left_out, False) if budget.left_out else STORED


class _Budget:
    """How many new objects a push may still describe: counted once, when the first new one comes."""

    def __init__(self, writing, agent_id, limit, describe_new):
        self.writing, self.agent_id, self.limit, self.describe_new = writing, agent_id, limit, describe_new
        self.described = None
        self.pushed_new = 0
        self.left_out = {}

    def allows(self, name, new):
        """Tell whether new more objects of kind name may be described; raise TooManyDescribed past the limit."""
        if not self.describe_new:
            self.left_out[name] = new
            return False
        if self.limit is not None:
            if self.described is None:
                self.described = self.writing.execute(_DESCRIBED, (self.agent_id,) * len(KINDS)).fetchone()[0]
            self.pushed_new += new
            if self.described + self.pushed_new > self.limit:
                raise TooManyDescribed(self.described, self.pushed_new, self.limit)
        return True


def _same_samples(writing, agent_id, objects, blobs):
    """Tell whether a retried push holds the objects and samples of the push stored for its timestamp."""
    for (name, kind), blob in zip(KINDS.items(), blobs):
        items = objects[name]
        stored = packing.unpack(kind.metrics, blob) if blob is not None else {}
        if len(stored) != len(items):
            return False
        if not items:
            continue
        reader = _READERS[name]
        identities = list(map(reader.identity, items))
        known = _lookup(writing, kind, _STATEMENTS[name], agent_id, identities)
        for identity, item in zip(identities, items):
            found = known.get(identity)
            if found is None or stored.get(found.key) != reader.measured(item):
                return False
    return True


def forget_agent(agent_id):
    """Drop what is remembered of an agent's objects, once the agent is deleted."""
    cache = _described.get(db.engine, {})
    for name in KINDS:
        cache.pop((name, agent_id), None)


def _describe(writing, kind, statements, reader, agent_id, ts, items, remembered, budget):
    """Describe new or changed objects; return what is now Remembered of them, with each item's key,
    and the items kept: all of them, unless the budget leaves the new ones out."""
    identities = list(map(reader.identity, items))
    descriptions = list(map(reader.description, items))
    if identities == remembered.identities and descriptions == remembered.descriptions:
        return remembered, items  # the steady push: the same objects, described as before
    known = {identity: remembered.objects[identity] for identity in identities if identity in remembered.objects}
    known.update(_lookup(writing, kind, statements, agent_id, [i for i in identities if i not in known]))
    new_count = sum(identity not in known for identity in identities)
    if new_count and not budget.allows(kind.name, new_count):
        kept = [index for index, identity in enumerate(identities) if identity in known]
        items, identities, descriptions = ([sequence[index] for index in kept]
                                           for sequence in (items, identities, descriptions))
    new, changed, keys, described = [], [], [], []
    next_key = None
    for item, identity, description in zip(items, identities, descriptions):
        found = known.get(identity)
        if found is None:
            if next_key is None:
                next_key = (writing.execute(statements.last_key, (agent_id,)).fetchone()[0] or 0) + 1
            found, next_key = Known(next_key, description, ts), next_key + 1
            new.append((agent_id, found.key, *reader.row(item), ts, ts))
        elif description != found.description and ts >= found.described_at:
            changed.append((*description, ts, agent_id, found.key, ts))
            found = Known(found.key, description, ts)
        known[identity] = found
        keys.append(found.key)
        described.append(found.description)  # a late push's own may be older than what is kept
    if new:
        writing.executemany(statements.insert, new)
    if changed:
        writing.executemany(statements.update, changed)
    return Remembered({identity: known[identity] for identity in identities}, identities, described, keys), items


def _lookup(writing, kind, statements, agent_id, identities):
    """Return {identity: Known} of the agent's described objects among identities."""
    width = len(kind.identity)
    mark = "{0}" if width == 1 else "(" + ", ".join(["{0}"] * width) + ")"
    known = {}
    # In slices: SQLite's default build takes at most 32,766 parameters a statement.
    for start in range(0, len(identities), _LOOKUP_SLICE):
        wanted = identities[start:start + _LOOKUP_SLICE]
        values = wanted if width == 1 else [value for identity in wanted for value in identity]
        found = writing.execute(statements.known.format(identities=", ".join([mark] * len(wanted))),
                                (agent_id, *values))
        for row in found.fetchall():
            known[row[0] if width == 1 else tuple(row[:width])] = Known(row[width], tuple(row[width + 1:-1]), row[-1])
    return known
