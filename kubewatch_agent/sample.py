"""One push body: the time, then whatever the collector could gather."""

import math
from datetime import datetime, timezone

from kubewatch_agent.collectors import CollectorUnavailable
from kubewatch_agent.outages import OutageLog, one_line


def utc_timestamp(moment=None):
    """Return moment (default now) as RFC 3339 UTC to the second, the precision the server keeps."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Sampler:
    """Turn a collector into push bodies; a collector in trouble gives empty lists, logged once per change."""

    def __init__(self, collector, outages=None):
        self.collector = collector
        self.outages = outages or OutageLog()
        self.subject = collector.platform

    def __call__(self):
        """Return a push body; never raises for the collector's trouble."""
        timestamp = utc_timestamp()
        try:
            collected = self.collector.collect()
        except CollectorUnavailable as error:
            self.outages.failed(self.subject, f"{error}; pushing what can be collected meanwhile")
            collected = {}
        except Exception as error:  # a collector's bug must not stop the pushes either
            self.outages.failed(self.subject, f"collection failed ({type(error).__name__}: {one_line(error)})")
            collected = {}
        else:
            self.outages.recovered(self.subject, "collecting again")
        body = {"timestamp": timestamp}
        for kind in ("containers", "nodes", "pods"):
            body[kind] = measured(collected.get(kind, []))
        return body


def measured(objects):
    """Return objects without the numbers that are not finite: the payload leaves out what was not measured."""
    # A NaN would make the whole body invalid JSON, and the push would be lost with all its good figures.
    return [{key: value for key, value in found.items() if not (isinstance(value, float) and not math.isfinite(value))}
            for found in objects]
