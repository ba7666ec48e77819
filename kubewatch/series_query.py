"""Answering a series query from the tiers that hold its range: raw samples, one-minute and one-hour rollups."""

from kubewatch import buckets
from kubewatch.db import read
from kubewatch.repository import sample_rows

MAX_POINTS = 10_000
MINUTE, HOUR = 60, 3600
# The rollup tiers, coarsest first: a step that is a whole multiple of a tier's reads that tier.
_TIERS = (("1h", HOUR), ("1m", MINUTE))


class QueryError(ValueError):
    """A series query that cannot be answered as asked; the message says why."""


def read_series(kind, agent_id, key, start, end, step, now, config):
    """Return {"resolution", "step", "points"} for one object from start to end (epoch seconds).

    Without step, the raw samples when start lies in the raw tier, else buckets of the finest
    rollup tier that reaches back to start. With step, buckets aligned to whole multiples of it,
    each whole, computed from the coarsest tier whose step divides it; the minutes and hours
    not rolled up yet come from the finer tiers.
    """
    found = read_each(kind, agent_id, [key], start, end, step, now, config)
    return {"resolution": found["resolution"], "step": found["step"], "points": found["series"].get(key, [])}


def read_each(kind, agent_id, keys, start, end, step, now, config):
    """Return {"resolution", "step", "series": {key: points}} of several objects of one agent at once.

    Each object's points are what read_series answers for it alone; an object without any is
    left out. Each tier is read once for them all: one query, not one per object.
    """
    if step is None:
        if start >= now - config["RAW_RETENTION"]:
            return _raw(kind, agent_id, keys, start, end)
        step = MINUTE if (start >= now - config["MINUTE_RETENTION"]
                          and _buckets_between(start, end, MINUTE) <= MAX_POINTS) else HOUR
    resolution, tier_step = "raw", 0
    for name, seconds in _TIERS:
        if step % seconds == 0:
            resolution, tier_step = name, seconds
            break
    _check_reach(step, tier_step, start, now, config)
    first = start - start % step
    if _buckets_between(start, end, step) > MAX_POINTS:
        raise QueryError(f"That would be more than {MAX_POINTS} points: ask for a shorter range or a larger step.")
    return {"resolution": resolution, "step": step,
            "series": _bucket_points(kind, agent_id, keys, first, end, step, tier_step)}


def _buckets_between(start, end, step):
    return (end - (start - start % step)) // step + 1


def _raw(kind, agent_id, keys, start, end):
    # The samples are counted, not guessed from the push interval: an agent may push every second.
    with read() as conn:
        samples, previous = sample_rows.samples(conn, kind, agent_id, keys, start, end, most=MAX_POINTS)
    if any(len(found) > MAX_POINTS for found in samples.values()):
        raise QueryError(f"That would be more than {MAX_POINTS} points: ask for a shorter range or a larger step.")
    return {"resolution": "raw", "step": None,
            "series": {key: buckets.raw_points(kind, ([previous[key]] if key in previous else []) + found, start)
                       for key, found in samples.items()}}


def _check_reach(step, tier_step, start, now, config):
    """Refuse a step finer than what is kept at start, when a coarser step would find data there."""
    if tier_step == HOUR:
        return  # nothing older than the hour tier is kept at all
    kept_from = now - config["MINUTE_RETENTION" if tier_step == MINUTE else "RAW_RETENTION"]
    if start < kept_from:
        coarser = "whole hours" if tier_step == MINUTE else "whole minutes"
        raise QueryError(f"Before {_ago(now - kept_from)} ago only rollups are kept: "
                         f"use a step of {coarser} for that range.")


def _ago(seconds):
    return f"{seconds // 86400} d" if seconds % 86400 == 0 else f"{seconds // 3600} h" if seconds % 3600 == 0 \
        else f"{seconds} s"


def _bucket_points(kind, agent_id, keys, first, end, step, tier_step):
    """Return {key: the points of the buckets from first to end}, each part read from the coarsest tier that has it.

    Buckets are whole: the one holding end is read to its own end.
    """
    stop = end - end % step + step
    with read() as conn:
        pending = sample_rows.first_not_rolled_up(conn, agent_id)
        # Rollups are complete for the whole minutes and hours before the oldest push not rolled up, and
        # hours only before the agent's hours_through (kubewatch/rollup_hours.py).
        complete = {HOUR: sample_rows.hours_through(conn, agent_id), MINUTE: stop}
        edge, kept_as_asked, parts = first, {}, {}
        for seconds in (HOUR, MINUTE):
            if tier_step >= seconds:
                until = min(stop, complete[seconds], stop if pending is None else pending - pending % seconds)
                if until > edge:
                    if seconds == step:  # the tier's rows are the buckets asked for
                        kept_as_asked = sample_rows.rollup_rows(conn, kind, agent_id, keys, seconds, edge, until)
                    else:
                        for key, found in sample_rows.rollups(conn, kind, agent_id, keys, seconds, edge, until).items():
                            parts.setdefault(key, []).extend(found)
                    edge = until
        samples, previous = (sample_rows.samples(conn, kind, agent_id, keys, edge, stop - 1) if edge < stop
                             else ({}, {}))
    series = {}
    for key in keys:
        if key not in kept_as_asked and key not in parts and key not in samples:
            continue
        # Every edge is a whole multiple of step, so the rows kept as asked share no bucket with the rest.
        merged = buckets.rebucket(kind, parts.get(key, ()), step)
        for bucket, summary in sorted(buckets.summarize(kind, samples.get(key, ()), step, previous.get(key)).items()):
            if bucket in merged:
                buckets.merge(kind, merged[bucket], summary)
            else:
                merged[bucket] = summary
        series[key] = buckets.row_points(kind, kept_as_asked.get(key, ())) + buckets.bucket_points(kind, merged)
    return series
