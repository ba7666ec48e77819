"""Alerting: rules evaluated on a timer, alerts kept in the database, messages delivered through Apprise."""

import logging
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from kubewatch.alerting.courier import Courier
from kubewatch.alerting.evaluate import Evaluator
from kubewatch.db import db

log = logging.getLogger("kubewatch.alerts")
HISTORY_RETENTION = 90 * 86400  # resolved alerts are kept this long, then pruned with the rollup job's run
COURIER_TICK = 1.0  # seconds between two looks for messages due, unless an evaluation wakes it sooner


class SingleProcess:
    """The leadership hook on SQLite: one server process owns the database file, so it always evaluates.

    With several processes on one database (PostgreSQL), a hook with the same holds() must let
    only one of them evaluate at a time, such as one holding a session-level advisory lock.
    """

    def holds(self):
        """Return True while this process is the one to evaluate."""
        return True


def init_app(app):
    """Let the /metrics scrape count the organization's firing alerts (kubewatch_alerts_firing)."""
    from kubewatch.repository.alert_state import firing_count
    from kubewatch.server_metrics import ALERTS_FIRING

    app.extensions[ALERTS_FIRING] = firing_count


def leadership(engine):
    """Return the hook that says whether this process evaluates, for the database behind engine.

    Raises RuntimeError for a database with no hook yet: two evaluators would send every message twice.
    """
    if engine.dialect.name == "sqlite":
        return SingleProcess()
    raise RuntimeError(f"alerting has no leadership hook for {engine.dialect.name} yet: "
                       "set ALERT_INTERVAL = 0 to run without alerts")


def start(app, clock=time.time):
    """Run the evaluator every ALERT_INTERVAL seconds and the courier beside it, in daemon threads.

    Returns (evaluator thread, courier), or None when ALERT_INTERVAL is 0.
    """
    interval = app.config["ALERT_INTERVAL"]
    if not interval:
        return None
    with app.app_context():
        leader = leadership(db.engine)
    evaluator, courier = Evaluator(), Courier(app, clock=clock)

    def evaluate():
        while True:
            time.sleep(interval)
            if not leader.holds():
                continue
            with app.app_context():
                try:
                    outcome = evaluator.run(app.config, int(clock()))
                except SQLAlchemyError as error:
                    log.warning("alert evaluation stopped, will retry in %s s: %s", interval, error.__class__.__name__)
                    continue
                except Exception:  # a bug must not end alerting for the life of the server
                    log.exception("alert evaluation failed, will retry in %s s", interval)
                    continue
            if outcome.fired or outcome.resolved:
                log.info("alerts: %s fired, %s resolved, %s messages queued", *outcome)
            if outcome.queued:
                courier.wake.set()

    def deliver():
        while True:
            courier.wake.wait(COURIER_TICK)
            courier.wake.clear()
            try:
                courier.dispatch()
            except Exception:
                log.exception("alert delivery failed, will retry in %s s", COURIER_TICK)

    thread = threading.Thread(target=evaluate, name="kubewatch-alerts", daemon=True)
    thread.start()
    threading.Thread(target=deliver, name="kubewatch-courier", daemon=True).start()
    return thread, courier
