"""Rolling pushes up into the one-minute and one-hour tiers, and pruning each tier past its retention.

Every rollup row is recomputed whole from the tier below, never added to: a job stopped
halfway and run again writes the same rows, so nothing is counted twice. An agent's pushes are
rolled up in one transaction with the mark that says so, so nothing is left out either.
"""

from sqlalchemy import text

from kubewatch import buckets, packing
from kubewatch.db import driver_sql, read, write
from kubewatch.kinds import COUNTER, GAUGE, KINDS
from kubewatch.repository.descriptions import prune_descriptions
from kubewatch.repository.pushes import forget_agent
from kubewatch.repository.sample_rows import first_not_rolled_up

MINUTE, HOUR = 60, 3600
# Minutes to roll up that lie this close together are read from the raw tier in one go.
_RUN_GAP = 10 * MINUTE


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
    """Return the statement that merges an hour's minute rows into its hour row, object by object.

    Averages merge weighted by their counts, maxima by MAX, and a last value is the one of the
    latest minute that has it: what kubewatch.buckets.merge does, in SQL.
    """
    minutes = f"FROM {kind.rollups} m WHERE m.agent_id = :agent_id AND m.step = {MINUTE} " \
              "AND m.bucket >= :hour AND m.bucket < :end"
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


def agents_to_roll_up(before):
    """Return the ids of agents with pushes older than before not yet rolled up."""
    with read() as conn:
        return [row[0] for row in conn.execute(
            text("SELECT DISTINCT agent_id FROM pushes WHERE rolled_up = 0 AND ts < :before"), {"before": before})]


def roll_up_agent(agent_id, before):
    """Roll up the agent's pushes older than before (a whole minute); return how many were rolled up."""
    with write() as conn:
        pending = [row[0] for row in conn.execute(
            text("SELECT ts FROM pushes WHERE agent_id = :agent_id AND rolled_up = 0 AND ts < :before ORDER BY ts"),
            {"agent_id": agent_id, "before": before})]
        if not pending:
            return 0
        minutes = _minutes_touched(conn, agent_id, pending, before)
        hours = set()
        for first, last in _runs(minutes):
            hours.update(_roll_up_minutes(conn, agent_id, first, last + MINUTE))
        for hour in sorted(hours):
            _roll_up_hour(conn, agent_id, hour)
        # Only the pushes read above: where another process writes too (PostgreSQL), one committed
        # since then is left pending for the next run rather than marked without being counted.
        conn.exec_driver_sql(driver_sql(_MARK_ROLLED_UP), [(agent_id, ts) for ts in pending])
    return len(pending)


_MARK_ROLLED_UP = "UPDATE pushes SET rolled_up = 1 WHERE agent_id = {0} AND ts = {0}"


def _minutes_touched(conn, agent_id, pending, before):
    """Return the minutes to recompute: each pending push's, and the next push's, whose rates it seeds."""
    later = [row[0] for row in conn.execute(
        text("SELECT ts FROM pushes WHERE agent_id = :agent_id AND ts > :first AND ts < :before ORDER BY ts"),
        {"agent_id": agent_id, "first": pending[0], "before": before})]
    minutes = {ts - ts % MINUTE for ts in pending}
    following = iter(later)
    upcoming = next(following, None)
    for ts in pending:
        while upcoming is not None and upcoming <= ts:
            upcoming = next(following, None)
        if upcoming is not None:
            minutes.add(upcoming - upcoming % MINUTE)
    return sorted(minutes)


def _runs(minutes):
    """Group sorted minutes into (first, last) runs with gaps of at most _RUN_GAP."""
    runs = []
    for minute in minutes:
        if runs and minute - runs[-1][1] <= _RUN_GAP:
            runs[-1][1] = minute
        else:
            runs.append([minute, minute])
    return runs


def _roll_up_minutes(conn, agent_id, start, end):
    """Recompute the one-minute rollups of every object from start to end; return the hours touched."""
    pushed = conn.execute(
        text("SELECT ts, containers, nodes, pods FROM pushes WHERE agent_id = :agent_id "
             "AND ts >= :start AND ts < :end ORDER BY ts"), {"agent_id": agent_id, "start": start, "end": end}).all()
    before = conn.execute(
        text("SELECT ts, containers, nodes, pods FROM pushes WHERE agent_id = :agent_id AND ts < :start "
             "ORDER BY ts DESC LIMIT 1"), {"agent_id": agent_id, "start": start}).first()
    for position, (name, kind) in enumerate(KINDS.items(), start=1):
        by_key = {}
        for row in pushed:
            if row[position] is not None:
                for key, values in packing.unpack(kind.metrics, row[position]).items():
                    by_key.setdefault(key, []).append((row[0], values))
        seeds = packing.unpack(kind.metrics, before[position]) if before and before[position] else {}
        rows = []
        for key, samples in by_key.items():
            previous = (before[0], seeds[key]) if key in seeds else None
            for bucket, summary in buckets.summarize(kind, samples, MINUTE, previous).items():
                rows.append((agent_id, key, MINUTE, bucket, *buckets.to_row(kind, summary)))
        if rows:
            conn.exec_driver_sql(driver_sql(_UPSERTS[name]), rows)
    return {minute - minute % HOUR for minute in range(start, end, MINUTE)}


def _roll_up_hour(conn, agent_id, hour):
    """Recompute the one-hour rollups of every object of the agent for one hour from its minutes."""
    for name in KINDS:
        conn.execute(_HOURS[name], {"agent_id": agent_id, "hour": hour, "end": hour + HOUR})


def prune_agent(agent_id, raw_before, minutes_before=None, hours_before=None):
    """Delete the agent's rolled-up pushes before raw_before and, when given, its minute and hour
    rollups before minutes_before and hours_before, and then the objects with no sample left;
    return how many rows were deleted.

    A minute that still holds a push not rolled up keeps all its pushes: its rollup will be
    recomputed from them.
    """
    on_commit = []
    with write(on_commit) as conn:
        pending = first_not_rolled_up(conn, agent_id)
        if pending is not None:
            raw_before = min(raw_before, pending - pending % MINUTE)
        deleted = conn.exec_driver_sql(driver_sql(_PRUNE_PUSHES), (agent_id, raw_before)).rowcount
        for name, kind in KINDS.items():
            if minutes_before is None and hours_before is None:
                break
            # Key by key, so each delete walks only the old end of one object's rows.
            keys = [row[0] for row in conn.exec_driver_sql(driver_sql(_KEYS[name]), (agent_id,))]
            for step, before in ((MINUTE, minutes_before), (HOUR, hours_before)):
                if keys and before is not None:
                    deleted += conn.exec_driver_sql(driver_sql(_PRUNE_ROLLUPS[name]),
                                                    [(agent_id, key, step, before) for key in keys]).rowcount
        if minutes_before is not None or hours_before is not None:
            described = prune_descriptions(conn, agent_id)
            if described:  # the push path remembers the agent's objects by key: it must look them up again
                on_commit.append(lambda: forget_agent(agent_id))
            deleted += described
    return deleted


_PRUNE_PUSHES = "DELETE FROM pushes WHERE agent_id = {0} AND ts < {0} AND rolled_up = 1"
_KEYS = {name: f"SELECT key FROM {kind.table} WHERE agent_id = {{0}}" for name, kind in KINDS.items()}
_PRUNE_ROLLUPS = {name: f"DELETE FROM {kind.rollups} WHERE agent_id = {{0}} AND key = {{0}} AND step = {{0}} "
                        f"AND bucket < {{0}}" for name, kind in KINDS.items()}


def all_agents():
    """Return the ids of every agent."""
    with read() as conn:
        return [row[0] for row in conn.execute(text("SELECT id FROM agents"))]
