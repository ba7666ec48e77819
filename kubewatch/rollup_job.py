"""The rollup job: pushes rolled up into minutes and hours, each tier pruned past its retention.

Every rollup row is recomputed whole from the tier below, never added to: a job stopped
halfway and run again writes the same rows, so nothing is counted twice. A push is marked rolled
up only once every minute and hour it counts in is written, so nothing is left out either; until
then readers take those minutes from the raw tier (kubewatch/series_query.py).

The job works in bounded chunks, whatever one agent's backlog: PAGE_PUSHES pending pushes at a
time; whole minutes of at most CHUNK_PUSHES pushes, read one push at a time and unpacked a slice
of keys at a time, so that at most about CHUNK_SAMPLES samples are held; and it reads and
computes outside the writer lock, taking it only to write WRITE_ROWS rows, or merge one hour of
HOUR_KEYS objects, at a time (each well under 50 ms). The server runs the job on a timer of its
own, off the request path; `flask prune` runs it on demand.
"""

import logging
import threading
import time
from typing import NamedTuple

import click
from flask.cli import with_appcontext
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from kubewatch import alerting, buckets, packing
from kubewatch.db import write
from kubewatch.kinds import KINDS
from kubewatch.repository import alert_state, rollup_rows

log = logging.getLogger("kubewatch.rollups")
# Between two agents the timer's job rests twice as long as it worked: it takes at most a third of
# the one core Python gets, and pushes arriving meanwhile find the lock and the GIL free.
REST_PER_WORK = 2
MINUTE, HOUR = 60, 3600
# Minutes to roll up that lie this close together are read from the raw tier in one go.
_RUN_GAP = 10 * MINUTE
# The chunks (see above). A minute holds at most 60 pushes of an agent (one per second).
PAGE_PUSHES = 1000
CHUNK_PUSHES = 60
CHUNK_SAMPLES = 50_000
WRITE_ROWS = 2000
HOUR_KEYS = 250


class Done(NamedTuple):
    rolled_up: int  # pushes counted into the rollups
    pruned: int  # rows deleted past their tier's retention


def run(config, now, pause=lambda: None):
    """Roll up every push of a whole minute before now, then prune each tier; return what was done.

    pause() runs between two agents' transactions.
    """
    before = now - now % 60
    rolled_up = pruned = 0
    for agent_id in rollup_rows.agents_to_roll_up(before):
        rolled_up += roll_up_agent(agent_id, before, pause)
        pause()
    # Whole minutes of raw samples, whole hours of minutes: a later push never lands in a half-pruned bucket.
    raw_before = _floor(now - config["RAW_RETENTION"], 60)
    minutes_before = _floor(now - config["MINUTE_RETENTION"], 3600)
    hours_before = _floor(now - config["HOUR_RETENTION"], 3600)
    # Rollups are pruned in whole hours: once an hour is enough (and on each process's first run).
    pruned_through = current_app.extensions.setdefault("kubewatch.rollups", {})
    hourly = (minutes_before, hours_before) != pruned_through.get("hours")
    for agent_id in rollup_rows.all_agents():
        pruned += rollup_rows.prune_agent(agent_id, raw_before, *((minutes_before, hours_before) if hourly else ()))
        pause()
    pruned_through["hours"] = (minutes_before, hours_before)
    pruned += alert_state.prune_alerts(now - alerting.HISTORY_RETENTION)
    return Done(rolled_up, pruned)


def _floor(ts, step):
    return ts - ts % step


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


def start_timer(app):
    """Run the job every ROLLUP_INTERVAL seconds in a daemon thread; return the thread, or None when off."""
    interval = app.config["ROLLUP_INTERVAL"]
    if not interval:
        return None

    def loop():
        while True:
            time.sleep(interval)
            with app.app_context():
                try:
                    done = run(app.config, int(time.time()), pause=_Rest())
                except SQLAlchemyError as error:
                    # The database is busy, read-only or full: the next run picks up where this one stopped.
                    log.warning("rollup job stopped, will retry in %s s: %s", interval, error.__class__.__name__)
                    continue
                except Exception:  # a bug must not end the timer for the life of the server
                    log.exception("rollup job failed, will retry in %s s", interval)
                    continue
            if done.rolled_up or done.pruned:
                log.debug("rolled up %s pushes, pruned %s rows", *done)

    thread = threading.Thread(target=loop, name="kubewatch-rollups", daemon=True)
    thread.start()
    return thread


class _Rest:
    """Sleep REST_PER_WORK times as long as the job worked since the last rest.

    The writer lock is not fair: released and taken again at once, it would keep pushes waiting
    until the whole job is done (seconds with a thousand agents). A rest hands it over.
    """

    def __init__(self):
        self.since = time.monotonic()

    def __call__(self):
        time.sleep(REST_PER_WORK * (time.monotonic() - self.since))
        self.since = time.monotonic()


@click.command("prune")
@with_appcontext
def prune_command():
    """Roll up the pushes of past minutes and prune each tier past its retention, now."""
    done = run(current_app.config, int(time.time()))
    click.echo(f"Rolled up {done.rolled_up} pushes; pruned {done.pruned} rows.")


def init_app(app):
    """Add `flask prune`."""
    app.cli.add_command(prune_command)
