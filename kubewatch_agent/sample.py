"""One push body: the time, then whatever the collector could gather, without figures that cannot be true."""

from datetime import datetime, timezone

from kubewatch_agent.collectors import CollectorUnavailable
from kubewatch_agent.outages import OutageLog, one_line
from kubewatch_agent.plausible import Plausibility


def utc_timestamp(moment=None):
    """Return moment (default now) as RFC 3339 UTC to the second, the precision the server keeps."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Sampler:
    """Turn a collector into push bodies; a collector in trouble gives what it could read, logged once per change."""

    def __init__(self, collector, outages=None):
        self.collector = collector
        self.outages = outages or OutageLog()
        self.plausible = Plausibility(self.outages.logger)
        self.subject = collector.platform

    def __call__(self):
        """Return a push body; never raises for the collector's trouble."""
        body, trouble = self.collect()
        if trouble is None:
            self.outages.recovered(self.subject, "collecting again")
        else:
            self.outages.failed(self.subject, f"{trouble}; pushing what can be collected meanwhile")
        return body

    def collect(self):
        """Return (push body, None), or (the body of what could be read, the one-line reason the platform could not)."""
        timestamp = utc_timestamp()
        trouble = None
        try:
            collected = self.collector.collect()
        except CollectorUnavailable as error:
            collected, trouble = error.collected, str(error)
        except Exception as error:  # a collector's bug must not stop the pushes either
            collected, trouble = {}, f"collection failed ({type(error).__name__}: {one_line(error)})"
        body = {"timestamp": timestamp}
        for kind in ("containers", "nodes", "pods"):
            body[kind] = list(collected.get(kind, []))
        return self.plausible(body), trouble
