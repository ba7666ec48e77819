"""One agent's pushes rolled up into minutes and hours, in bounded chunks, whatever its backlog.

PAGE_PUSHES pending pushes at a time; whole minutes of at most CHUNK_PUSHES pushes, read one push
at a time and unpacked a slice of keys at a time, so that at most about CHUNK_SAMPLES samples are
held; reads and computing outside the writer lock, taken only to write WRITE_ROWS rows, or merge
one hour of HOUR_KEYS objects, at a time (each well under 50 ms).
"""

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


def roll_up_agent(agent_id, before, pause=lambda: None):
    """Roll up the agent's pushes older than before (a whole minute); return how many were rolled up.

    pause() runs after each transaction, so that pushes waiting for the writer lock get it.
    """
    rolled_up = 0
    while True:
        page = rollup_rows.pending_page(agent_id, before, PAGE_PUSHES)
        if not page:
            return rolled_up
        hours = set()
        for first, last in _runs(_minutes_touched(page, before)):
            for start, end in _chunks(agent_id, first, last + MINUTE):
                hours.update(_roll_up_minutes(agent_id, start, end, pause))
        for hour in sorted(hours):
            _merge_hour(agent_id, hour, pause)
        # Only the pushes read above: one stored since is left pending for the next page or run,
        # rather than marked without being counted.
        stamps = [ts for ts, _ in page]
        for at in range(0, len(stamps), WRITE_ROWS):  # oldest first: readers' boundary only moves forward
            with write() as conn:
                rollup_rows.mark_rolled_up(conn, agent_id, stamps[at:at + WRITE_ROWS])
            pause()
        rolled_up += len(page)
        if len(page) < PAGE_PUSHES:
            return rolled_up


def _minutes_touched(page, before):
    """Return the minutes to recompute: each pending push's, and its next push's, whose rates it seeds."""
    minutes = {ts - ts % MINUTE for ts, _ in page}
    minutes.update(following - following % MINUTE for _, following in page
                   if following is not None and following < before)
    return sorted(minutes)


def _chunks(agent_id, start, end):
    """Split the minutes from start to end into runs of whole minutes holding at most CHUNK_PUSHES pushes each."""
    chunks, pushes = [], 0
    for minute, count in rollup_rows.pushes_per_minute(agent_id, start, end):
        if chunks and pushes + count <= CHUNK_PUSHES:
            chunks[-1][1] = minute + MINUTE
            pushes += count
        else:
            chunks.append([minute, minute + MINUTE])
            pushes = count
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


def _roll_up_minutes(agent_id, start, end, pause):
    """Recompute the one-minute rollups of every object from start to end; return the hours touched.

    Reads outside the writer lock, a slice of keys at a time: about CHUNK_SAMPLES samples held at most.
    """
    pushes = sum(count for _, count in rollup_rows.pushes_per_minute(agent_id, start, end))
    width = max(1, CHUNK_SAMPLES // max(1, pushes))
    for kind in KINDS.values():
        highest = rollup_rows.highest_key(agent_id, kind)
        if highest is None:
            continue
        for first_key in range(0, highest + 1, width):
            rows = _minute_rows(kind, agent_id, start, end, first_key, first_key + width)
            for at in range(0, len(rows), WRITE_ROWS):
                with write() as conn:
                    rollup_rows.write_minutes(conn, kind, rows[at:at + WRITE_ROWS])
                pause()
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


def _merge_hour(agent_id, hour, pause):
    """Recompute the agent's one-hour rollups of one hour from its minutes, HOUR_KEYS objects per transaction."""
    for kind in KINDS.values():
        highest = rollup_rows.highest_key(agent_id, kind)
        if highest is None:
            continue
        for first_key in range(0, highest + 1, HOUR_KEYS):
            with write() as conn:
                rollup_rows.merge_hour(conn, kind, agent_id, hour, first_key, first_key + HOUR_KEYS)
            pause()
