"""Revoked API keys, checked on every push: a revoked key's agent tokens stop on their next push.

An agent token names the key its agent registered with. The ids of revoked keys are held in
memory with the database's revocation generation, a counter every revocation bumps. On SQLite,
where one server process owns the file, a push costs a set lookup and a one-row read of the
generation at most once every REFRESH_SECONDS; a revocation made by this process counts at once.
On a database several server processes share (PostgreSQL), the generation is read on every
check, so that a key revoked through any of them stops every agent's next push, wherever it lands.
"""

import threading
import time

from flask import current_app
from sqlalchemy.engine import make_url

from kubewatch.repository import account_rows

# Seconds between two reads of the revocation generation on SQLite (one server process).
REFRESH_SECONDS = 1.0


class RevokedKeys:
    """The ids of revoked keys, as of the revocation generation last read; thread-safe."""

    def __init__(self, clock=time.monotonic, refresh_seconds=REFRESH_SECONDS):
        self.clock, self.refresh_seconds = clock, refresh_seconds
        self.generation = None
        self.ids = frozenset()
        self.checked_at = None
        self._lock = threading.Lock()

    def __contains__(self, key_id):
        checked_at = self.checked_at
        if checked_at is None or self.clock() - checked_at >= self.refresh_seconds:
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
    """Give app its view of the revoked keys: read again on every check unless the database is SQLite."""
    shared = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite"
    app.extensions["kubewatch.revoked_keys"] = RevokedKeys(refresh_seconds=0 if shared else REFRESH_SECONDS)


def is_revoked(key_id):
    """Tell whether the API key key_id is revoked: at once, on SQLite within REFRESH_SECONDS of another app's revocation."""
    return key_id in current_app.extensions["kubewatch.revoked_keys"]


def revoke(org_id, key_id, now):
    """Revoke a key of org_id, counted by this process at once; return False when it has no such key."""
    revoked = current_app.extensions["kubewatch.revoked_keys"]
    return account_rows.revoke_api_key(org_id, key_id, now, on_commit=revoked.add)
