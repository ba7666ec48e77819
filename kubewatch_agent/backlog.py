"""Pushes waiting for the server: bounded, oldest first, the oldest dropped when full."""

import logging
import math
from collections import deque

log = logging.getLogger("kubewatch_agent")

DEFAULT_SECONDS = 3600
# The server's default push interval: the size holds until the first registration says otherwise.
DEFAULT_INTERVAL = 15


class Backlog:
    """A bounded in-memory queue of push bodies that covers `seconds` of pushes."""

    def __init__(self, seconds=DEFAULT_SECONDS, interval=DEFAULT_INTERVAL):
        self.seconds = seconds
        self._bodies = deque(maxlen=self._size(interval))
        self.dropped = 0  # since the queue was last drained: reset when that is logged
        self.dropped_total = 0

    def _size(self, interval):
        return max(1, math.ceil(self.seconds / max(interval, 1)))

    @property
    def capacity(self):
        return self._bodies.maxlen

    def resize(self, interval):
        """Hold `seconds` of pushes at the server's interval; a smaller queue drops its oldest."""
        size = self._size(interval)
        if size != self.capacity:
            excess = max(0, len(self._bodies) - size)
            self._bodies = deque(self._bodies, maxlen=size)  # keeps the newest
            self._count_dropped(excess)

    def add(self, body):
        """Queue a body; when full, the oldest one is dropped to make room."""
        full = len(self._bodies) == self.capacity
        self._bodies.append(body)
        if full:
            self._count_dropped(1)

    def oldest(self):
        return self._bodies[0]

    def remove_oldest(self):
        """Forget the oldest body (it was sent); log what was dropped once the queue has drained."""
        self._bodies.popleft()
        if not self._bodies and self.dropped:
            log.warning("backlog drained; %d pushes were dropped while it was full", self.dropped)
            self.dropped = 0

    def __len__(self):
        return len(self._bodies)

    def __iter__(self):
        """Iterate over the waiting bodies, oldest first."""
        return iter(list(self._bodies))

    def _count_dropped(self, count):
        if count and not self.dropped:
            log.warning("backlog full (%d pushes, %d s): dropping the oldest from now on",
                        self.capacity, self.seconds)
        self.dropped += count
        self.dropped_total += count
