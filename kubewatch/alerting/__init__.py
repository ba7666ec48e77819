"""Alerting: rules evaluated on a timer, alerts kept in the database, messages delivered through Apprise."""

import logging
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from kubewatch import leadership
from kubewatch.alerting.courier import Courier
from kubewatch.alerting.evaluate import Evaluator

log = logging.getLogger("kubewatch.alerts")
HISTORY_RETENTION = 90 * 86400  # resolved alerts are kept this long, then pruned with the rollup job's run
COURIER_TICK = 1.0  # seconds between two looks for messages due, unless an evaluation wakes it sooner


def init_app(app):
    """Let the /metrics scrape count the organization's firing alerts (kubewatch_alerts_firing)."""
    from kubewatch.repository.alert_state import firing_count
    from kubewatch.server_metrics import ALERTS_FIRING

    app.extensions[ALERTS_FIRING] = firing_count


def start(app, clock=time.time):
    """Run the evaluator every ALERT_INTERVAL seconds and the courier beside it, in daemon threads,
    while this process leads (see kubewatch/leadership.py): with several processes on one database,
    one evaluates and delivers at a time, so that nothing is sent twice.

    Returns (evaluator thread, courier), or None when ALERT_INTERVAL is 0.
    """
    interval = app.config["ALERT_INTERVAL"]
    if not interval:
        return None
    leader = leadership.of(app)
    courier = Courier(app, clock=clock)
    evaluator, term = None, None

    def evaluate():
        nonlocal evaluator, term
        while True:
            time.sleep(interval)
            if not leader.holds():
                continue
            if leader.term != term:  # led by another process meanwhile: what the last evaluator kept is stale
                evaluator, term = Evaluator(), leader.term
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
            if not leader.holds():
                continue
            try:
                courier.dispatch()
            except Exception:
                log.exception("alert delivery failed, will retry in %s s", COURIER_TICK)

    thread = threading.Thread(target=evaluate, name="kubewatch-alerts", daemon=True)
    thread.start()
    threading.Thread(target=deliver, name="kubewatch-courier", daemon=True).start()
    return thread, courier
