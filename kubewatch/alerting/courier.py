"""Delivering the messages owed to channels: one sender per channel, off the evaluator.

Each channel with a message due gets a thread of its own that sends its messages in order, so
a channel that hangs (until the timeout) or fails holds back only itself. A failed message is
retried with backoff and recorded on the channel (lastError); a delivered one sets
lastDeliveredAt. A crash after sending and before recording sends that message again.
"""

import logging
import threading
import time

from kubewatch.alerting import channels
from kubewatch.repository import deliveries

log = logging.getLogger("kubewatch.alerts")
FIRST_RETRY = 5  # seconds; doubled after each failure,
LONGEST_RETRY = 600  # up to this,
ATTEMPTS = 12  # and given up after this many attempts (about an hour and a half of trying)


def retry_delay(attempts):
    """Return seconds to wait after the attempts-th failure."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


class Courier:
    """Starts a sender for each channel owed a message that is due."""

    def __init__(self, app, send=channels.send, clock=time.time):
        self.app, self.send, self.clock = app, send, clock
        self.timeout = app.config["ALERT_DELIVERY_TIMEOUT"]
        self._busy = {}  # {channel_id: its sender thread}
        self._lock = threading.Lock()
        self.wake = threading.Event()

    def dispatch(self):
        """Start a sender for each channel with a message due and no sender at work; return how many started."""
        with self.app.app_context():
            due = deliveries.channels_with_due(int(self.clock()))
        started = 0
        with self._lock:
            for channel_id in due:
                if channel_id not in self._busy:
                    sender = threading.Thread(target=self._drain, args=(channel_id,), daemon=True,
                                              name=f"kubewatch-send-{channel_id}")
                    self._busy[channel_id] = sender
                    sender.start()
                    started += 1
        return started

    def wait(self, timeout=30):
        """Wait until every sender started so far has finished (for tests and shutdown); return True if they did."""
        deadline = time.monotonic() + timeout
        with self._lock:
            senders = list(self._busy.values())
        for sender in senders:
            sender.join(max(0, deadline - time.monotonic()))
        return not any(sender.is_alive() for sender in senders)

    def _drain(self, channel_id):
        try:
            with self.app.app_context():
                while self._send_next(channel_id):
                    pass
        except Exception:  # the database went away: the message stays owed, the next dispatch tries again
            log.exception("sending to channel %s stopped", channel_id)
        finally:
            with self._lock:
                self._busy.pop(channel_id, None)

    def _send_next(self, channel_id):
        """Send the channel's oldest owed message when due; return True to go on with the next."""
        owed = deliveries.oldest_owed(channel_id)
        if owed is None or owed.next_attempt_at > self.clock():
            return False
        sent = self.send(owed.url, owed.title, owed.body, owed.notify_type, self.timeout)
        now = int(self.clock())
        if sent.delivered:
            deliveries.delivered(owed.id, channel_id, now)
            return True
        attempts = owed.attempts + 1
        retry_at = now + retry_delay(attempts) if attempts < ATTEMPTS else None
        deliveries.failed(owed.id, channel_id, now, sent.error, retry_at)
        log.warning("channel %s: message not delivered (attempt %s%s): %s", channel_id, attempts,
                    "" if retry_at else ", given up", sent.error)
        return False
