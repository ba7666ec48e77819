"""Revoked API keys, checked on every push: a revoked key's agent tokens stop on their next push.

An agent token names the key its agent registered with. The ids of revoked keys are held in
memory with the database's revocation generation, a counter every revocation bumps: a push costs
a set lookup, and at most once every REFRESH_SECONDS a one-row read tells whether another server
process revoked a key. A revocation made by this process counts at once.
"""

import threading
import time

from flask import current_app

from kubewatch.repository import account_rows

# Seconds between two reads of the revocation generation: another process's revocation counts after at most this.
REFRESH_SECONDS = 1.0


class RevokedKeys:
    """The ids of revoked keys, as of the revocation generation last read; thread-safe."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.generation = None
        self.ids = frozenset()
        self.checked_at = None
        self._lock = threading.Lock()

    def __contains__(self, key_id):
        checked_at = self.checked_at
        if checked_at is None or self.clock() - checked_at >= REFRESH_SECONDS:
            self.refresh()
        return key_id in self.ids

    def refresh(self):
        """Read the generation, and the revoked ids again when it moved."""
        with self._lock:
            generation = account_rows.revocation_generation()
            if generation != self.generation:
                self.ids = frozenset(account_rows.revoked_key_ids())
                self.generation = generation
            self.checked_at = self.clock()

    def add(self, key_id):
        """Count a key this process revoked at once, before the next read of the generation."""
        with self._lock:
            self.ids = self.ids | {key_id}


def init_app(app):
    """Give app its view of the revoked keys."""
    app.extensions["kubewatch.revoked_keys"] = RevokedKeys()


def is_revoked(key_id):
    """Tell whether the API key key_id is revoked: at once when revoked here, within REFRESH_SECONDS otherwise."""
    return key_id in current_app.extensions["kubewatch.revoked_keys"]


def revoke(org_id, key_id, now):
    """Revoke a key of org_id, counted by this process at once; return False when it has no such key."""
    revoked = current_app.extensions["kubewatch.revoked_keys"]
    return account_rows.revoke_api_key(org_id, key_id, now, on_commit=revoked.add)
