"""Slowing down guessing: failed logins and registrations, counted per client and per account."""

import logging
import math
import threading
import time
from collections import deque

from flask import current_app, request
from flask_smorest import abort

from kubewatch.logsafe import shown

log = logging.getLogger("kubewatch.auth")

# Keys tracked at most; past this the stalest are forgotten, so a flood cannot exhaust memory.
MAX_TRACKED = 100_000


class FailureLog:
    """Failures per key within a sliding window; thread-safe."""

    def __init__(self):
        self._failures = {}
        self._lock = threading.Lock()

    def retry_after(self, keys, limit, window, now):
        """Return seconds until every key is under limit failures in the window, or 0."""
        wait = 0
        with self._lock:
            for key in keys:
                times = self._failures.get(key)
                if times:
                    while times and times[0] <= now - window:
                        times.popleft()
                    if len(times) >= limit:
                        wait = max(wait, times[0] + window - now)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def fail(self, keys, limit, now):
        """Count one failure against each key."""
        with self._lock:
            if len(self._failures) >= MAX_TRACKED:
                for stale in sorted(self._failures, key=lambda k: self._failures[k][-1] if self._failures[k] else 0)[
                        :MAX_TRACKED // 10]:
                    del self._failures[stale]
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=limit)).append(now)

    def clear(self, key):
        """Forget the failures of key, after it succeeded."""
        with self._lock:
            self._failures.pop(key, None)


def init_app(app):
    """Give app its own failure log."""
    app.extensions["kubewatch.failures"] = FailureLog()


def _settings():
    config = current_app.config
    return current_app.extensions["kubewatch.failures"], config["AUTH_FAILURE_LIMIT"], config["AUTH_FAILURE_WINDOW"]


# A client refused for its failures is told what failed: an agent's wrong key must stay visible.
_TOO_MANY = {"register": "Too many registrations with a missing, unknown or revoked API key from this address: "
                         "check the key, then wait before trying again."}


def guard(action, account=None):
    """Abort 429 with Retry-After when this client, or this account, failed too often lately."""
    failures, limit, window = _settings()
    wait = failures.retry_after(_keys(action, account), limit, window, time.monotonic())
    if wait:
        log.warning("%s refused for %ss: too many failures from %s", action, wait, shown(request.remote_addr))
        abort(429, message=_TOO_MANY.get(action, "Too many failed attempts: wait before trying again."),
              headers={"Retry-After": str(wait)})


def failed(action, account=None):
    """Count a failed attempt of this client, and of this account when there is one."""
    failures, limit, _ = _settings()
    failures.fail(_keys(action, account), limit, time.monotonic())
    if account is None:
        log.warning("%s failed from %s", action, shown(request.remote_addr))
    else:
        log.warning("%s failed for %s from %s", action, shown(account), shown(request.remote_addr))


def succeeded(action, account):
    """Forget an account's failures once it signs in."""
    failures, _, _ = _settings()
    failures.clear((action, "account", account))


def _keys(action, account):
    keys = [(action, "client", request.remote_addr)]
    if account is not None:
        keys.append((action, "account", account))
    return keys
