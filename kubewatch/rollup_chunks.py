"""Pushes rolled up into minutes and hours in bounded chunks, whatever an agent's backlog and however many agents.

The pending pushes of every agent are read PAGE_PUSHES at a time, agent after agent; an agent's
minutes are recomputed in runs of at most CHUNK_PUSHES pushes, read one push at a time and
unpacked a slice of keys at a time, so that at most about CHUNK_SAMPLES samples are held. Reads
and computing happen outside the writer lock. What is to be written waits in _Writes, shared by
all the agents of a run, and goes in transactions of at most WRITE_ROWS rows, hour merges of at
most HOUR_KEYS objects, or WRITE_ROWS pushes marked (each a few ms): a run's write
transactions grow with its pushes, not with its agents.
"""

from itertools import groupby
from operator import itemgetter

from kubewatch import buckets, packing
from kubewatch.rollup_writes import Writes
from kubewatch.kinds import KINDS
from kubewatch.repository import hour_edges, rollup_rows

MINUTE, HOUR = 60, 3600
# Minutes to roll up that lie this close together are read from the raw tier in one go.
_RUN_GAP = 10 * MINUTE
# The chunks (see above). A minute holds at most 60 pushes of an agent (one per second).
PAGE_PUSHES = 1000
CHUNK_PUSHES = 60
CHUNK_SAMPLES = 50_000
# A write transaction holds the writer lock, and a push served on waitress's loop thread waits for it
# with every connection behind it (kubewatch/server.py). At 10,000 agents (bench/crowd.py), 2,000 rows
# held it 7 ms at the median and 25 ms at the 90th percentile, and pushes waited that long in line:
# push p90 25 ms, p99 54 ms. 250 rows hold it about 1.5 ms: p90 5 to 6 ms, p99 18 to 20 ms, the job no slower.
WRITE_ROWS = 250
HOUR_KEYS = 60


def roll_up(before, pause=lambda: None):
    """Roll up every agent's pushes older than before (a whole minute); return how many were rolled up.

    pause() runs after each write transaction, so that pushes waiting for the writer lock get it.
    """
    writes, rolled_up, after = new_writes(pause), 0, None
    while True:
        page = rollup_rows.pending_after(before, after, PAGE_PUSHES)
        rolled_up += _roll_up_page([(agent_id, [push[1:] for push in pushes])
                                    for agent_id, pushes in groupby(page, key=itemgetter(0))], before, writes)
        if len(page) < PAGE_PUSHES:
            writes.flush_marks()
            return rolled_up
        after = page[-1][:2]


def _roll_up_page(page, before, writes):
    """Queue what a page of pending pushes, [(agent_id, [(ts, next ts)])], needs written; return how many pushes.

    Agents whose minutes to recompute lie in one window of at most two minutes, with few samples
    there, are read together, many to a statement (the common case: an agent pushing every 15 s);
    the others one by one, in chunks.
    """
    agent_ids = [agent_id for agent_id, _ in page]
    if not agent_ids:
        return 0  # and no statement: PostgreSQL takes no empty IN ()
    highest = {name: rollup_rows.highest_keys(agent_ids, kind) for name, kind in KINDS.items()}
    writes.closed = hour_edges.hours_through(agent_ids)
    objects = {agent_id: sum(highest[name].get(agent_id, -1) + 1 for name in KINDS) for agent_id in agent_ids}
    windows = {}
    for agent_id, pending in page:
        minutes = _minutes_touched(pending, before)
        if minutes[-1] - minutes[0] <= MINUTE:
            windows.setdefault((minutes[0], minutes[-1] + MINUTE), []).append((agent_id, pending))
        else:
            _roll_up_pushes(agent_id, pending, before, {name: highest[name].get(agent_id) for name in KINDS}, writes)
    for (start, end), agents in windows.items():
        counts = rollup_rows.pushes_in_window([agent_id for agent_id, _ in agents], start, end)
        group, held = [], 0
        for agent_id, pending in agents:
            samples = counts.get(agent_id, 0) * objects[agent_id]
            if counts.get(agent_id, 0) > CHUNK_PUSHES or samples > CHUNK_SAMPLES:  # too big to share a read
                _roll_up_pushes(agent_id, pending, before, {name: highest[name].get(agent_id) for name in KINDS},
                                writes)
                continue
            if group and held + samples > CHUNK_SAMPLES:
                _roll_up_group(group, start, end, highest, writes)
                group, held = [], 0
            group.append((agent_id, pending))
            held += samples
        if group:
            _roll_up_group(group, start, end, highest, writes)
    return sum(len(pending) for _, pending in page)


def _roll_up_group(group, start, end, highest, writes):
    """Queue the minutes from start to end, their hours and marks, of small agents read together."""
    pushes, seeds = rollup_rows.window_pushes([agent_id for agent_id, _ in group], start, end)
    read = {agent_id: list(rows) for agent_id, rows in groupby(pushes, key=itemgetter(0))}
    for agent_id, pending in group:
        seed = seeds.get(agent_id)
        for position, (name, kind) in enumerate(KINDS.items()):
            top = highest[name].get(agent_id)
            if top is not None:
                samples = [(row[1], row[2 + position]) for row in read.get(agent_id, ())]
                writes.rows(kind, _rows(kind, agent_id, samples, seed and (seed[0], seed[1 + position]), 0, top + 1))
        _queue_hours_and_marks(agent_id, pending, {minute - minute % HOUR for minute in range(start, end, MINUTE)},
                               {name: highest[name].get(agent_id) for name in KINDS}, writes)


def roll_up_agent(agent_id, before, pause=lambda: None):
    """Roll up one agent's pushes older than before (a whole minute); return how many were rolled up."""
    writes, rolled_up = new_writes(pause), 0
    while True:
        page = rollup_rows.pending_page(agent_id, before, PAGE_PUSHES)
        if page:
            highest = {name: rollup_rows.highest_key(agent_id, kind) for name, kind in KINDS.items()}
            writes.closed = hour_edges.hours_through([agent_id])
            rolled_up += _roll_up_pushes(agent_id, page, before, highest, writes)
        if len(page) < PAGE_PUSHES:
            writes.flush_marks()
            return rolled_up


def _roll_up_pushes(agent_id, page, before, highest, writes):
    """Queue the rows, hour merges and marks of these pending pushes of the agent, [(ts, next ts or None)],
    reading them one agent at a time, in chunks; highest: {kind name: the agent's highest key or None}."""
    hours = set()
    for first, last in _runs(_minutes_touched(page, before)):
        for start, end, pushes in _chunks(agent_id, first, last + MINUTE):
            hours.update(_roll_up_minutes(agent_id, start, end, pushes, highest, writes))
    _queue_hours_and_marks(agent_id, page, hours, highest, writes)
    return len(page)


def _queue_hours_and_marks(agent_id, page, hours, highest, writes):
    """Queue the merges of the hours touched that are closed already (kubewatch/rollup_hours.py), HOUR_KEYS
    objects each, then the marks of the pushes in page."""
    closed = writes.closed.get(agent_id, 0)  # an agent deleted meanwhile: nothing to merge
    for hour in sorted(hour for hour in hours if hour < closed):
        for name, kind in KINDS.items():
            for first_key in range(0, -1 if highest[name] is None else highest[name] + 1, HOUR_KEYS):
                writes.hour(kind, agent_id, hour, first_key, min(first_key + HOUR_KEYS, highest[name] + 1))
    # Only the pushes read above: one stored since is left pending for the next page or run,
    # rather than marked without being counted.
    writes.mark(agent_id, [ts for ts, _ in page])


def _minutes_touched(page, before):
    """Return the minutes to recompute: each pending push's, and its next push's, whose rates it seeds."""
    minutes = {ts - ts % MINUTE for ts, _ in page}
    minutes.update(following - following % MINUTE for _, following in page
                   if following is not None and following < before)
    return sorted(minutes)


def _chunks(agent_id, start, end):
    """Split the minutes from start to end into runs of whole minutes holding at most CHUNK_PUSHES pushes
    each; return them as (start, end, pushes)."""
    chunks = []
    for minute, count in rollup_rows.pushes_per_minute(agent_id, start, end):
        if chunks and chunks[-1][2] + count <= CHUNK_PUSHES:
            chunks[-1][1] = minute + MINUTE
            chunks[-1][2] += count
        else:
            chunks.append([minute, minute + MINUTE, count])
    # Minutes without a push are written as nothing; they need no chunk of their own.
    return [tuple(chunk) for chunk in chunks]


def _runs(minutes):
    """Group sorted minutes into (first, last) runs with gaps of at most _RUN_GAP."""
    runs = []
    for minute in minutes:
        if runs and minute - runs[-1][1] <= _RUN_GAP:
            runs[-1][1] = minute
        else:
            runs.append([minute, minute])
    return runs


def _roll_up_minutes(agent_id, start, end, pushes, highest, writes):
    """Queue the one-minute rollups of every object from start to end; return the hours touched.

    Reads outside the writer lock, a slice of keys at a time: about CHUNK_SAMPLES samples held at most.
    """
    width = max(1, CHUNK_SAMPLES // max(1, pushes))
    for name, kind in KINDS.items():
        if highest[name] is None:
            continue
        for first_key in range(0, highest[name] + 1, width):
            writes.rows(kind, _minute_rows(kind, agent_id, start, end, first_key, first_key + width))
    return {minute - minute % HOUR for minute in range(start, end, MINUTE)}


def _minute_rows(kind, agent_id, start, end, first_key, end_key):
    """Return the one-minute rollup rows of the objects of kind with first_key <= key < end_key, from start to end."""
    return _rows(kind, agent_id, rollup_rows.samples_from(agent_id, kind, start, end),
                 rollup_rows.samples_before(agent_id, kind, start), first_key, end_key)


def _rows(kind, agent_id, samples, before, first_key, end_key):
    """Return the one-minute rollup rows of the objects of kind with first_key <= key < end_key from samples,
    [(ts, blob or None)] oldest first, the rates of the first seeded by before, (ts, blob or None) or None."""
    by_key = {}
    for ts, blob in samples:
        if blob is not None:
            for key, values in packing.unpack_keys(kind.metrics, blob, first_key, end_key).items():
                by_key.setdefault(key, []).append((ts, values))
    seeds = packing.unpack_keys(kind.metrics, before[1], first_key, end_key) if before and before[1] else {}
    rows = []
    for key, samples in by_key.items():
        previous = (before[0], seeds[key]) if key in seeds else None
        for bucket, summary in buckets.summarize(kind, samples, MINUTE, previous).items():
            rows.append((agent_id, key, MINUTE, bucket, *buckets.to_row(kind, summary)))
    return rows


def new_writes(pause):
    """Return an empty Writes with the chunk sizes above; pause() runs after each of its transactions."""
    return Writes(pause, WRITE_ROWS, HOUR_KEYS, PAGE_PUSHES)
