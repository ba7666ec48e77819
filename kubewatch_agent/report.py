"""What a running agent tells the person watching its log: the first push that lands, then one line an hour."""

import logging

REPORT_EVERY = 3600

log = logging.getLogger("kubewatch_agent")


class ActivityReport:
    """Count pushes sent and dropped and remember the last error; log them at INFO once per `every` seconds."""

    def __init__(self, clock, every=REPORT_EVERY, logger=log):
        self.clock = clock
        self.every = every
        self.logger = logger
        self.sent = 0
        self.rejected = 0
        self.last_error = None
        self.due = None  # set by the first push that lands: until then nothing works to report on
        self._dropped_before = 0

    def pushed(self, body):
        """Count one push the server took; the first one is logged with what it carried."""
        self.sent += 1
        if self.due is None:
            self.due = self.clock() + self.every
            self.logger.info("first push landed: %d containers, %d nodes and %d pods; next report in %d min",
                             len(body["containers"]), len(body["nodes"]), len(body["pods"]), self.every // 60)

    def rejected_one(self):
        """Count one push the server refused as invalid (dropped, never retried)."""
        self.rejected += 1

    def failed(self, reason):
        """Remember reason as the last error of the period."""
        self.last_error = reason

    def tick(self, queued, dropped_total):
        """Log the period's line when it is due: pushes sent, queued now, dropped, and the last error.

        queued is the backlog's length now; dropped_total is how many the backlog ever dropped.
        """
        if self.due is None or self.clock() < self.due:
            return
        dropped = dropped_total - self._dropped_before + self.rejected
        error = f"; last error: {self.last_error}" if self.last_error else "; no errors"
        self.logger.info("last %d min: %d pushes sent, %d queued, %d dropped%s",
                         self.every // 60, self.sent, queued, dropped, error)
        self.sent, self.rejected, self.last_error = 0, 0, None
        self._dropped_before = dropped_total
        self.due += self.every
        if self.due <= self.clock():  # the machine slept: start a fresh period rather than log several at once
            self.due = self.clock() + self.every
