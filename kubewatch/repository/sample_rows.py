"""Reading samples and rollups back: objects' raw samples and rollup rows, an agent's latest objects."""

import itertools

from sqlalchemy import text

from kubewatch import buckets, packing
from kubewatch.db import driver, read
from kubewatch.kinds import KINDS


def object_key(kind, agent_id, identity):
    """Return the agent's key of the object with this identity (a tuple of kind.identity), or None."""
    match = " AND ".join(f"{column} = :{column}" for column in kind.identity)
    with read() as conn:
        return conn.execute(
            text(f"SELECT key FROM {kind.table} WHERE agent_id = :agent_id AND {match}"),
            {"agent_id": agent_id, **dict(zip(kind.identity, identity))},
        ).scalar()


def samples(conn, kind, agent_id, keys, start, end, most=None):
    """Return the raw samples of the objects with these keys with start <= ts <= end, one pass over the pushes.

    Returns ({key: [(ts, values)], oldest first}, {key: (ts, values) in the push just before
    start}), which seeds rates; an object without any is left out of each. With most, reading
    stops once an object has most + 1 samples: more than most is all the caller needs to know.
    """
    rows = conn.execute(
        text(f"SELECT ts, {kind.name} FROM pushes WHERE agent_id = :agent_id AND ts BETWEEN :start AND :end "
             f"ORDER BY ts"), {"agent_id": agent_id, "start": start, "end": end})
    found = _pick(kind, keys, rows, most)
    rows.close()
    before = conn.execute(
        text(f"SELECT ts, {kind.name} FROM pushes WHERE agent_id = :agent_id AND ts < :start "
             f"ORDER BY ts DESC LIMIT 1"), {"agent_id": agent_id, "start": start}).first()
    earlier = _pick(kind, keys, [before]) if before else {}
    return found, {key: picked[0] for key, picked in earlier.items()}


def _pick(kind, keys, rows, most=None):
    picked = {}
    one = keys[0] if len(keys) == 1 else None
    wanted = set(keys)
    for ts, blob in rows:
        if blob is None:
            continue
        if one is not None:  # one object: only its values are read out of the blob
            values = packing.unpack_one(kind.metrics, blob, one)
            pushed = () if values is None else ((one, values),)
        else:
            pushed = packing.unpack(kind.metrics, blob).items()
        for key, values in pushed:
            if key in wanted:
                found = picked.setdefault(key, [])
                found.append((ts, values))
                if most is not None and len(found) > most:
                    return picked
    return picked


def rollup_rows(conn, kind, agent_id, keys, step, start, end):
    """Return {key: rows} of the objects' rollup rows of this step with start <= bucket < end, oldest first,
    each row (bucket, *columns of kubewatch.buckets.rollup_columns); an object without any is left out."""
    found = {}
    for first in range(0, len(keys), _KEY_SLICE):
        wanted = keys[first:first + _KEY_SLICE]
        marks = ", ".join(["{0}"] * len(wanted))
        rows = driver(conn).execute(_ROLLUP_ROWS[kind.name].replace("KEYS", marks),
                                    (agent_id, *wanted, step, start, end)).fetchall()
        for key, group in itertools.groupby(rows, key=lambda row: row[0]):
            found[key] = [row[1:] for row in group]
    return found


def rollups(conn, kind, agent_id, keys, step, start, end):
    """Return {key: [(bucket, summary)]} of the objects' rollups of this step with start <= bucket < end, oldest first."""
    return {key: [(row[0], buckets.from_row(kind, row[0], row[1:])) for row in rows]
            for key, rows in rollup_rows(conn, kind, agent_id, keys, step, start, end).items()}


# Through the driver: a day of minutes is 1,440 rows per object, and SQLAlchemy's per-row work showed.
# The keys are asked for by the primary key's order (agent_id, key, step, bucket): an index seek per object.
_ROLLUP_ROWS = {
    name: f"SELECT key, bucket, {', '.join(buckets.rollup_columns(kind))} FROM {kind.rollups} "
          "WHERE agent_id = {0} AND key IN (KEYS) AND step = {0} AND bucket >= {0} AND bucket < {0} "
          "ORDER BY key, bucket"
    for name, kind in KINDS.items()}


def first_not_rolled_up(conn, agent_id):
    """Return the timestamp of the agent's oldest push not yet in the rollups, or None."""
    return conn.execute(
        text("SELECT MIN(ts) FROM pushes WHERE agent_id = :agent_id AND rolled_up = 0"),
        {"agent_id": agent_id}).scalar()


def hours_through(conn, agent_id):
    """Return the hour (epoch seconds) before which the agent's one-hour rollups are all merged; 0 when it is gone."""
    return conn.execute(text("SELECT hours_through FROM agents WHERE id = :agent_id"),
                        {"agent_id": agent_id}).scalar() or 0


_KEY_SLICE = 500  # keys asked for in one statement: SQLite takes at most 32,766 parameters


def latest(kind, agent_id):
    """Return the objects of the push the agent's state follows (its latest received), if it had any of this kind.

    Each is a dict of the kind's identity and described columns, plus "key", "first_seen",
    "described_at" (when its description last changed), "ts", "values" (in the order of
    kind.metrics) and "previous": (ts, values) from the push before, or None.
    """
    with read() as conn:
        # The push the agent's state follows (agents.last_push_ts): after a clock that ran fast was
        # fixed, later timestamps are stored, yet the push received since says what runs now.
        pushed = conn.execute(
            text(f"SELECT p.ts, p.{kind.name} FROM agents a JOIN pushes p ON p.agent_id = a.id "
                 f"AND p.ts <= a.last_push_ts WHERE a.id = :agent_id ORDER BY p.ts DESC LIMIT 2"),
            {"agent_id": agent_id}).all()
        if not pushed or pushed[0][1] is None:
            return []
        now = packing.unpack(kind.metrics, pushed[0][1])
        before = packing.unpack(kind.metrics, pushed[1][1]) if len(pushed) > 1 and pushed[1][1] else {}
        columns = kind.identity + kind.described
        # Only the objects of that push, by key: what the agent ran in the past does not slow this down.
        keys = sorted(now)
        described = []
        cursor = driver(conn)
        for start in range(0, len(keys), _KEY_SLICE):
            wanted = keys[start:start + _KEY_SLICE]
            described += cursor.execute(_DESCRIBED[kind.name].format(keys=", ".join(["{0}"] * len(wanted))),
                                        (agent_id, *wanted)).fetchall()
    objects = []
    for key, first_seen, described_at, *description in described:
        if key in now:
            previous = (pushed[1][0], before[key]) if key in before else None
            objects.append({**dict(zip(columns, description)), "key": key, "first_seen": first_seen,
                            "described_at": described_at, "ts": pushed[0][0], "values": now[key],
                            "previous": previous})
    return objects


# Through the driver: SQLAlchemy's expanding of 500 keys a statement cost a fifth more, for 3,000 objects.
_DESCRIBED = {name: f"SELECT key, first_seen, described_at, {', '.join(kind.identity + kind.described)} "
                    f"FROM {kind.table} WHERE agent_id = {{{{0}}}} AND key IN ({{keys}}) ORDER BY key"
              for name, kind in KINDS.items()}


def object_keys(kind, agent_id):
    """Return the keys of every object of this kind the agent ever pushed."""
    with read() as conn:
        return conn.execute(text(f"SELECT key FROM {kind.table} WHERE agent_id = :agent_id ORDER BY key"),
                            {"agent_id": agent_id}).scalars().all()


def lowest_restarts_since(kind, agent_id, since):
    """Return {key: the lowest restart count} of the agent's objects in the one-minute rollups from since on."""
    with read() as conn:
        rows = conn.execute(
            text(f"SELECT key, MIN(restart_count) FROM {kind.rollups} WHERE agent_id = :agent_id AND step = 60 "
                 "AND bucket >= :since GROUP BY key"), {"agent_id": agent_id, "since": since}).all()
    return dict(rows)
