"""The rollup job's rows: the pushes it reads, the one-minute and one-hour rows it writes whole (pruning is in prune_pass.py and pruning.py)."""

from sqlalchemy import text

from kubewatch import buckets
from kubewatch.db import driver, read
from kubewatch.kinds import COUNTER, GAUGE, KINDS

MINUTE, HOUR = 60, 3600


def _upsert(kind):
    """Return the statement that writes rollup rows whole, for the driver: (agent_id, key, step, bucket, *values)."""
    columns = buckets.rollup_columns(kind)
    return (
        f"INSERT INTO {kind.rollups} (agent_id, key, step, bucket, {', '.join(columns)}) "
        f"VALUES ({', '.join(['{0}'] * (4 + len(columns)))}) "
        f"ON CONFLICT (agent_id, key, step, bucket) DO UPDATE SET "
        f"{', '.join(f'{c} = excluded.{c}' for c in columns)}")


_UPSERTS = {name: _upsert(kind) for name, kind in KINDS.items()}


def _hour_from_minutes(kind):
    """Return the statement that merges an hour's minute rows into its hour row, for the agent's objects whose
    keys lie in [first_key, end_key).

    Averages merge weighted by their counts, maxima by MAX, and a last value is the one of the
    latest minute that has it: what kubewatch.buckets.merge does, in SQL. The keys are named by
    IN, so that each is one index seek to its hour of minutes, however long the tier is kept.
    """
    minutes = f"FROM {kind.rollups} m WHERE m.agent_id = :agent_id AND m.key IN (SELECT key FROM {kind.table} " \
              "WHERE agent_id = :agent_id AND key >= :first_key AND key < :end_key) " \
              f"AND m.step = {MINUTE} AND m.bucket >= :hour AND m.bucket < :end"
    merged = ["SUM(m.samples)"]
    for metric in kind.metrics:
        column = metric.column
        if metric.how == GAUGE:
            merged += (f"SUM(m.{column}_avg * m.{column}_n) / NULLIF(SUM(m.{column}_n), 0)",
                       f"MAX(m.{column}_max)", f"SUM(m.{column}_n)")
        elif metric.how == COUNTER:
            merged += (f"SUM(m.{column}_rate * m.{column}_n) / NULLIF(SUM(m.{column}_n), 0)", f"SUM(m.{column}_n)")
        else:
            merged.append(f"(SELECT l.{column} FROM {kind.rollups} l WHERE l.agent_id = :agent_id AND l.key = m.key "
                          f"AND l.step = {MINUTE} AND l.bucket >= :hour AND l.bucket < :end "
                          f"AND l.{column} IS NOT NULL ORDER BY l.bucket DESC LIMIT 1)")
    columns = buckets.rollup_columns(kind)
    return text(
        f"INSERT INTO {kind.rollups} (agent_id, key, step, bucket, {', '.join(columns)}) "
        f"SELECT :agent_id, m.key, {HOUR}, :hour, {', '.join(merged)} {minutes} GROUP BY m.key "
        f"ON CONFLICT (agent_id, key, step, bucket) DO UPDATE SET "
        f"{', '.join(f'{c} = excluded.{c}' for c in columns)}")


_HOURS = {name: _hour_from_minutes(kind) for name, kind in KINDS.items()}


def pending_after(before, after, limit):
    """Return up to limit pushes older than before not yet rolled up, agent by agent and oldest first, as
    (agent_id, ts, ts of the agent's next push or None), starting after the (agent_id, ts) after, or at the first."""
    where = "" if after is None else "AND (p.agent_id > :agent_id OR (p.agent_id = :agent_id AND p.ts > :ts)) "
    with read() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT p.agent_id, p.ts, (SELECT MIN(n.ts) FROM pushes n WHERE n.agent_id = p.agent_id AND n.ts > p.ts) "
            f"FROM pushes p WHERE p.rolled_up = 0 AND p.ts < :before {where}ORDER BY p.agent_id, p.ts LIMIT :limit"),
            {"before": before, "limit": limit, **({} if after is None else {"agent_id": after[0], "ts": after[1]})})]


def pending_page(agent_id, before, limit):
    """Return up to limit of the agent's pushes older than before not yet rolled up, oldest first, as
    (ts, ts of the agent's next push or None)."""
    with read() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT p.ts, (SELECT MIN(n.ts) FROM pushes n WHERE n.agent_id = p.agent_id AND n.ts > p.ts) "
            "FROM pushes p WHERE p.agent_id = :agent_id AND p.rolled_up = 0 AND p.ts < :before ORDER BY p.ts LIMIT :limit"),
            {"agent_id": agent_id, "before": before, "limit": limit})]


def highest_keys(agent_ids, kind):
    """Return {agent_id: the highest key it gave an object of kind} for these agents, those that described any."""
    with read() as conn:
        return {row[0]: row[1] for row in driver(conn).execute(
            f"SELECT agent_id, MAX(key) FROM {kind.table} WHERE agent_id IN ({', '.join(['{0}'] * len(agent_ids))}) "
            "GROUP BY agent_id", agent_ids).fetchall()}


def pushes_in_window(agent_ids, start, end):
    """Return {agent_id: how many pushes it has with start <= ts < end} for these agents, those with any."""
    with read() as conn:
        return {row[0]: row[1] for row in driver(conn).execute(
            f"SELECT agent_id, COUNT(*) FROM pushes WHERE agent_id IN ({', '.join(['{0}'] * len(agent_ids))}) "
            "AND ts >= {0} AND ts < {0} GROUP BY agent_id", (*agent_ids, start, end)).fetchall()}


def window_pushes(agent_ids, start, end):
    """Return (pushes, seeds) of these agents: pushes [(agent_id, ts, blob of each kind...)] with
    start <= ts < end, by agent and oldest first; seeds {agent_id: (ts, blob of each kind...)} of each
    agent's push just before start. One statement each, for many small agents at once."""
    marks, blobs = ", ".join(["{0}"] * len(agent_ids)), ", ".join(KINDS)
    with read() as conn:
        cursor = driver(conn)
        pushes = cursor.execute(f"SELECT agent_id, ts, {blobs} FROM pushes WHERE agent_id IN ({marks}) "
                                "AND ts >= {0} AND ts < {0} ORDER BY agent_id, ts", (*agent_ids, start, end)).fetchall()
        seeds = cursor.execute(f"SELECT p.agent_id, p.ts, {blobs} FROM pushes p WHERE p.agent_id IN ({marks}) "
                               "AND p.ts = (SELECT MAX(b.ts) FROM pushes b WHERE b.agent_id = p.agent_id AND b.ts < {0})",
                               (*agent_ids, start)).fetchall()
    return pushes, {row[0]: tuple(row[1:]) for row in seeds}


def pushes_per_minute(agent_id, start, end):
    """Return [(minute, how many pushes)] of the agent's pushes with start <= ts < end, oldest first."""
    with read() as conn:
        return [tuple(row) for row in conn.execute(text(
            f"SELECT ts - ts % {MINUTE} AS minute, COUNT(*) FROM pushes WHERE agent_id = :agent_id "
            "AND ts >= :start AND ts < :end GROUP BY minute ORDER BY minute"),
            {"agent_id": agent_id, "start": start, "end": end})]


def highest_key(agent_id, kind):
    """Return the highest key the agent gave an object of kind, or None when it described none."""
    with read() as conn:
        return conn.execute(text(f"SELECT MAX(key) FROM {kind.table} WHERE agent_id = :agent_id"),
                            {"agent_id": agent_id}).scalar()


def samples_from(agent_id, kind, start, end):
    """Yield (ts, blob of kind or None) of the agent's pushes with start <= ts < end, oldest first.

    Read one row at a time: only one push's blob is held while the caller unpacks it.
    """
    with read() as conn:
        for row in conn.execute(text(f"SELECT ts, {kind.name} FROM pushes WHERE agent_id = :agent_id "
                                     "AND ts >= :start AND ts < :end ORDER BY ts"),
                                {"agent_id": agent_id, "start": start, "end": end}):
            yield tuple(row)


def samples_before(agent_id, kind, start):
    """Return (ts, blob of kind or None) of the agent's push just before start, or None."""
    with read() as conn:
        row = conn.execute(text(f"SELECT ts, {kind.name} FROM pushes WHERE agent_id = :agent_id AND ts < :start "
                                "ORDER BY ts DESC LIMIT 1"), {"agent_id": agent_id, "start": start}).first()
    return tuple(row) if row else None


def write_minutes(conn, kind, rows):
    """Write one-minute rollup rows whole: (agent_id, key, step, bucket, *kubewatch.buckets.to_row)."""
    driver(conn).executemany(_UPSERTS[kind.name], rows)


def merge_hour(conn, kind, agent_id, hour, first_key, end_key):
    """Recompute the one-hour rollups of the agent's objects of kind with first_key <= key < end_key for one
    hour from their minutes; return how many hour rows were written."""
    return conn.execute(_HOURS[kind.name], {"agent_id": agent_id, "hour": hour, "end": hour + HOUR,
                                            "first_key": first_key, "end_key": end_key}).rowcount


def mark_rolled_up(conn, pushes):
    """Mark these pushes, [(agent_id, ts)], rolled up."""
    driver(conn).executemany(_MARK_ROLLED_UP, pushes)


_MARK_ROLLED_UP = "UPDATE pushes SET rolled_up = 1 WHERE agent_id = {0} AND ts = {0}"
