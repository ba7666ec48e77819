"""The server's own health as Prometheus series: pushes answered by status, push latency, rollup
backlog, alerts firing and database size.

Pushes are counted and timed by PushMeter, WSGI middleware outside the push shortcut, in plain
numbers under a lock: prometheus_client's Counter and Histogram take a lock and look up a child
per call, which bench/ingest.py could tell from nothing at all. ServerHealth turns those numbers
and the database's into prometheus_client families at scrape time.
"""

import bisect
import threading
import time

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from kubewatch.push_shortcut import PUSH_PATH
from kubewatch.repository import health

# Upper bounds of the push latency histogram, in seconds: a push takes about a millisecond.
PUSH_SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Where an alerting module plugs its count in: app.extensions[ALERTS_FIRING] = callable(org_id) -> int.
ALERTS_FIRING = "kubewatch.alerts_firing"
_METER = "kubewatch.push_meter"


def init_app(app):
    """Put a PushMeter in front of the app's WSGI callable (shortcut included); call it after push_shortcut's."""
    app.wsgi_app = app.extensions[_METER] = PushMeter(app.wsgi_app)


class PushMeter:
    """WSGI middleware: counts the pushes answered by status and times them; passes every request on."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.lock = threading.Lock()
        self.by_status = {}  # {"200": count}
        self.buckets = [0] * (len(PUSH_SECONDS_BUCKETS) + 1)  # the last one: above every bound
        self.seconds = 0.0

    def __call__(self, environ, start_response):
        """Answer the request; a push's status and time are counted once its answer is made."""
        if environ["REQUEST_METHOD"] != "POST" or PUSH_PATH.fullmatch(environ.get("PATH_INFO", "")) is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        answered = []

        def recording(status, headers, exc_info=None):
            answered.append(status)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, recording)
        finally:
            self.record(answered[-1][:3] if answered else "500", time.perf_counter() - started)

    def record(self, status, seconds):
        """Count one push answered with status (e.g. "200") after seconds."""
        with self.lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.buckets[bisect.bisect_left(PUSH_SECONDS_BUCKETS, seconds)] += 1
            self.seconds += seconds

    def snapshot(self):
        """Return (by_status, cumulative bucket counts, sum of seconds), read together."""
        with self.lock:
            counts, by_status, seconds = list(self.buckets), dict(self.by_status), self.seconds
        cumulative, total = [], 0
        for count in counts:
            total += count
            cumulative.append(total)
        return by_status, cumulative, seconds


class ServerHealth:
    """A prometheus_client collector of the server's health, as seen by one organization's scrape."""

    def __init__(self, app, org_id, clock=time.time):
        self.app, self.org_id, self.clock = app, org_id, clock

    def collect(self):
        """Yield the push counter and histogram, the rollup backlog, alerts firing and the database size."""
        by_status, cumulative, seconds = self.app.extensions[_METER].snapshot()
        received = CounterMetricFamily("kubewatch_pushes_received", "Pushes answered since the server started, "
                                       "by HTTP status: 200 stored, anything else refused.", labels=["status"])
        for status, count in sorted(by_status.items()):
            received.add_metric([status], count)
        yield received
        bounds = [str(bound) for bound in PUSH_SECONDS_BUCKETS] + ["+Inf"]
        yield HistogramMetricFamily("kubewatch_push_duration_seconds", "Time the server took to answer a push.",
                                    buckets=list(zip(bounds, cumulative)), sum_value=seconds)
        yield GaugeMetricFamily("kubewatch_rollup_backlog_seconds", "How long the oldest push not yet rolled up "
                                "has waited; below ROLLUP_INTERVAL plus a minute when the job keeps up.",
                                value=health.rollup_backlog(int(self.clock())))
        alerts_firing = self.app.extensions.get(ALERTS_FIRING)
        if alerts_firing is not None:  # exported once an alerting module provides the count
            yield GaugeMetricFamily("kubewatch_alerts_firing", "Alerts of the organization firing now.",
                                    value=alerts_firing(self.org_id))
        yield GaugeMetricFamily("kubewatch_database_size_bytes", "Size of the database, in bytes.",
                                value=health.database_size())
