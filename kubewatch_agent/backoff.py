"""How long to wait before trying the server again."""

import random

BASE_SECONDS = 1.0
# Pushes wait in the backlog meanwhile, so a minute between tries loses nothing.
CAP_SECONDS = 60.0


class Backoff:
    """Exponential delays with jitter, capped; reset() after a success starts over from base."""

    def __init__(self, base=BASE_SECONDS, cap=CAP_SECONDS, rng=random.random):
        self.base = base
        self.cap = cap
        self.rng = rng
        self.failures = 0

    def next_delay(self):
        """Return the seconds to wait after one more failure: between half and all of the current step."""
        step = min(self.cap, self.base * 2 ** min(self.failures, 32))
        self.failures += 1
        # Jitter keeps many agents that lost the same server from all coming back in the same second.
        return step / 2 + self.rng() * step / 2

    def reset(self):
        self.failures = 0
