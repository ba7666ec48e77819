"""The rollup job: pushes rolled up into minutes and hours, each tier pruned past its retention.

Every rollup row is recomputed whole from the tier below, never added to: a job stopped
halfway and run again writes the same rows, so nothing is counted twice. A push is marked rolled
up only once every minute and hour it counts in is written, so nothing is left out either; until
then readers take those minutes from the raw tier (kubewatch/series_query.py).

The job works in bounded chunks, many agents' pushes to a transaction, so that its cost grows with
the pushes and rows to write or delete, not with the agents (kubewatch/rollup_chunks.py,
kubewatch/repository/prune_pass.py). The server runs it on a timer of its own, off the request
path, at the start of each period; `flask prune` runs it on demand. One run at a time on a database
(kubewatch/job_lock.py).
"""

import logging
import threading
import time
from typing import NamedTuple

import click
from flask.cli import with_appcontext
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from kubewatch import alerting, job_lock, leadership, rollup_chunks, rollup_hours
from kubewatch.repository import alert_state, hour_edges, prune_pass

log = logging.getLogger("kubewatch.rollups")
# After each write transaction the timer's job rests twice as long as it worked: it takes at most a
# third of the one core Python gets, and pushes arriving meanwhile find the lock and the GIL free.
# Worked is the job thread's own CPU time, not the time that passed: on a busy server, the time it
# waited for the GIL and the writer lock counted as work, and every wait made its rests twice as
# long again (bench/crowd.py, 10,000 agents: a minute's rollup took more than a minute).
REST_PER_WORK = 2


class Done(NamedTuple):
    rolled_up: int  # pushes counted into the rollups
    pruned: int  # rows deleted past their tier's retention


def run(config, now, pause=lambda: None):
    """Roll up every push of a whole minute before now, close the hours that ended (kubewatch/rollup_hours.py),
    then prune each tier; return what was done.

    pause() runs after each write transaction.
    """
    before = now - now % 60
    rolled_up = rollup_chunks.roll_up(before, pause)
    rollup_hours.close(before, rollup_chunks.new_writes(pause))
    # Whole minutes of raw samples, whole hours of minutes: a later push never lands in a half-pruned bucket.
    raw_before = _floor(now - config["RAW_RETENTION"], 60)
    minutes_before = _floor(now - config["MINUTE_RETENTION"], 3600)
    oldest_open = hour_edges.oldest()
    if oldest_open is not None:  # minutes of an hour not merged yet (a run had no room to close it) are kept
        minutes_before = min(minutes_before, oldest_open)
    hours_before = _floor(now - config["HOUR_RETENTION"], 3600)
    # Rollups are pruned in whole hours: once an hour is enough (and on each process's first run).
    pruned_through = current_app.extensions.setdefault("kubewatch.rollups", {})
    hourly = (minutes_before, hours_before) != pruned_through.get("hours")
    pruned = prune_pass.prune(raw_before, *((minutes_before, hours_before) if hourly else ()), pause=pause)
    pruned_through["hours"] = (minutes_before, hours_before)
    pruned += alert_state.prune_alerts(now - alerting.HISTORY_RETENTION)
    return Done(rolled_up, pruned)


def _floor(ts, step):
    return ts - ts % step


def start_timer(app):
    """Run the job at the start of every ROLLUP_INTERVAL seconds in a daemon thread while this process leads (see
    kubewatch/leadership.py); return the thread, or None when off."""
    interval = app.config["ROLLUP_INTERVAL"]
    if not interval:
        return None
    leader = leadership.of(app)

    def loop():
        while True:
            # At the start of each period, not a period after the last run ended: a minute's pushes are
            # rolled up as soon as it is whole, however long the last run took.
            time.sleep(interval - time.time() % interval)
            if not leader.holds():
                continue
            with app.app_context():
                try:
                    with job_lock.held(wait=False) as held:
                        if not held:  # `flask prune` runs it now: this tick's work is its
                            log.info("rollup job skipped: another run holds the job (flask prune?)")
                            continue
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
    """Sleep REST_PER_WORK times the CPU time the job's thread used since the last rest.

    The writer lock is not fair: released and taken again at once, it would keep pushes waiting
    until the whole job is done (seconds with a thousand agents). A rest hands it over.
    """

    def __init__(self):
        self.since = time.thread_time()

    def __call__(self):
        time.sleep(REST_PER_WORK * (time.thread_time() - self.since))
        self.since = time.thread_time()


@click.command("prune")
@with_appcontext
def prune_command():
    """Roll up the pushes of past minutes and prune each tier past its retention, now; after the server's run,
    when one is under way."""
    with job_lock.held_waiting(lambda: click.echo("The server's rollup job is running; waiting for it to end.",
                                                  err=True)):
        done = run(current_app.config, int(time.time()))
    click.echo(f"Rolled up {done.rolled_up} pushes; pruned {done.pruned} rows.")


def init_app(app):
    """Add `flask prune`."""
    app.cli.add_command(prune_command)
