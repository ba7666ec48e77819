"""Pushes rolled up into minutes and hours in bounded chunks, whatever an agent's backlog and however many agents.

The pending pushes of every agent are read PAGE_PUSHES at a time, agent after agent; an agent's
minutes are recomputed in runs of at most CHUNK_PUSHES pushes, read one push at a time and
unpacked a slice of keys at a time, so that at most about CHUNK_SAMPLES samples are held. Reads
and computing happen outside the writer lock. What is to be written waits in _Writes, shared by
all the agents of a run, and goes in transactions of at most WRITE_ROWS rows, hour merges of at
most HOUR_KEYS objects, or WRITE_ROWS pushes marked (each well under 50 ms): a run's write
transactions grow with its pushes, not with its agents.
"""

from itertools import groupby

from kubewatch import buckets, packing
from kubewatch.db import write
from kubewatch.kinds import KINDS
from kubewatch.repository import rollup_rows

MINUTE, HOUR = 60, 3600
# Minutes to roll up that lie this close together are read from the raw tier in one go.
_RUN_GAP = 10 * MINUTE
# The chunks (see above). A minute holds at most 60 pushes of an agent (one per second).
PAGE_PUSHES = 1000
CHUNK_PUSHES = 60
CHUNK_SAMPLES = 50_000
WRITE_ROWS = 2000
HOUR_KEYS = 250


def roll_up(before, pause=lambda: None):
    """Roll up every agent's pushes older than before (a whole minute); return how many were rolled up.

    pause() runs after each write transaction, so that pushes waiting for the writer lock get it.
    """
    writes, rolled_up, after = _Writes(pause), 0, None
    while True:
        page = rollup_rows.pending_after(before, after, PAGE_PUSHES)
        for agent_id, pushes in groupby(page, key=lambda push: push[0]):
            rolled_up += _roll_up_pushes(agent_id, [push[1:] for push in pushes], before, writes)
        if len(page) < PAGE_PUSHES:
            writes.flush_marks()
            return rolled_up
        after = page[-1][:2]


def roll_up_agent(agent_id, before, pause=lambda: None):
    """Roll up one agent's pushes older than before (a whole minute); return how many were rolled up."""
    writes, rolled_up = _Writes(pause), 0
    while True:
        page = rollup_rows.pending_page(agent_id, before, PAGE_PUSHES)
        rolled_up += _roll_up_pushes(agent_id, page, before, writes)
        if len(page) < PAGE_PUSHES:
            writes.flush_marks()
            return rolled_up


def _roll_up_pushes(agent_id, page, before, writes):
    """Queue the rows, hour merges and marks of these pending pushes of the agent, [(ts, next ts or None)]."""
    if not page:
        return 0
    highest = {name: rollup_rows.highest_key(agent_id, kind) for name, kind in KINDS.items()}
    hours = set()
    for first, last in _runs(_minutes_touched(page, before)):
        for start, end, pushes in _chunks(agent_id, first, last + MINUTE):
            hours.update(_roll_up_minutes(agent_id, start, end, pushes, highest, writes))
    for hour in sorted(hours):
        for name, kind in KINDS.items():
            for first_key in range(0, -1 if highest[name] is None else highest[name] + 1, HOUR_KEYS):
                writes.hour(kind, agent_id, hour, first_key, min(first_key + HOUR_KEYS, highest[name] + 1))
    # Only the pushes read above: one stored since is left pending for the next page or run,
    # rather than marked without being counted.
    writes.mark(agent_id, [ts for ts, _ in page])
    return len(page)


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
    by_key = {}
    for ts, blob in rollup_rows.samples_from(agent_id, kind, start, end):
        if blob is not None:
            for key, values in packing.unpack_keys(kind.metrics, blob, first_key, end_key).items():
                by_key.setdefault(key, []).append((ts, values))
    before = rollup_rows.samples_before(agent_id, kind, start)
    seeds = packing.unpack_keys(kind.metrics, before[1], first_key, end_key) if before and before[1] else {}
    rows = []
    for key, samples in by_key.items():
        previous = (before[0], seeds[key]) if key in seeds else None
        for bucket, summary in buckets.summarize(kind, samples, MINUTE, previous).items():
            rows.append((agent_id, key, MINUTE, bucket, *buckets.to_row(kind, summary)))
    return rows


class _Writes:
    """What a run is to write, in bounded transactions, each only after what it depends on is written:
    an hour merges its minutes once they are all written, a push is marked once its hours are."""

    def __init__(self, pause):
        self.pause = pause
        self.minute_rows, self.hours, self.marks = [], [], []  # [(kind, row)], [(kind, agent, hour, keys)]
        self.hour_keys = 0

    def rows(self, kind, rows):
        self.minute_rows.extend((kind, row) for row in rows)
        if len(self.minute_rows) >= WRITE_ROWS:
            self.flush_rows(whole_only=True)

    def hour(self, kind, agent_id, hour, first_key, end_key):
        if self.hour_keys + end_key - first_key > HOUR_KEYS:
            self.flush_hours()
        self.hours.append((kind, agent_id, hour, first_key, end_key))
        self.hour_keys += end_key - first_key

    def mark(self, agent_id, stamps):
        # A page's worth: marking flushes the rows and hours queued, whole slices or not.
        self.marks.extend((agent_id, ts) for ts in stamps)
        if len(self.marks) >= PAGE_PUSHES:
            self.flush_marks()

    def flush_rows(self, whole_only=False):
        queued = self.minute_rows
        whole = len(queued) - len(queued) % WRITE_ROWS if whole_only else len(queued)
        self.minute_rows = queued[whole:]
        for at in range(0, whole, WRITE_ROWS):
            with write() as conn:
                for kind, rows in groupby(queued[at:min(at + WRITE_ROWS, whole)], key=lambda queued_row: queued_row[0]):
                    rollup_rows.write_minutes(conn, kind, [row for _, row in rows])
            self.pause()

    def flush_hours(self):
        self.flush_rows()
        queued, self.hours, self.hour_keys = self.hours, [], 0
        if queued:
            with write() as conn:
                for kind, agent_id, hour, first_key, end_key in queued:
                    rollup_rows.merge_hour(conn, kind, agent_id, hour, first_key, end_key)
            self.pause()

    def flush_marks(self):
        self.flush_hours()
        queued, self.marks = self.marks, []
        # Oldest first, agent by agent: readers' boundary only moves forward.
        for at in range(0, len(queued), WRITE_ROWS):
            with write() as conn:
                rollup_rows.mark_rolled_up(conn, queued[at:at + WRITE_ROWS])
            self.pause()
