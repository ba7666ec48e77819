"""Which server process runs the rollup job, the alert evaluator and the alert courier: one at a time.

On SQLite one server process owns the database file (kubewatch/sqlite_owner.py): it always leads.
On PostgreSQL any number of processes may share the database; the leader is the one whose
connection of its own holds a session-level advisory lock (pg_try_advisory_lock). The others ask
again on each of their timers' ticks. When the leader dies, PostgreSQL ends its session and
releases the lock, and the next process to ask takes it: leadership moves within one tick of the
timers (ALERT_INTERVAL, ROLLUP_INTERVAL) of the process that takes over.
"""

import logging
import threading

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from kubewatch.db import db
from kubewatch.repository import leader_lock

log = logging.getLogger("kubewatch.leadership")
_EXTENSION = "kubewatch.leadership"


class AlwaysLeads:
    """The one server process of a SQLite database."""

    term = 1  # leadership never changes hands

    def holds(self):
        """Return True: this process leads."""
        return True


class AdvisoryLock:
    """Leadership through PostgreSQL's advisory lock, held on a connection kept while leading; thread-safe."""

    def __init__(self, engine):
        self.engine = engine
        self.term = 0  # bumped each time this process becomes the leader: what it kept in memory may be stale
        self._conn = None
        self._leading = False
        self._unreachable = False  # said once until the database answers again
        self._lock = threading.Lock()

    def holds(self):
        """Return whether this process leads now, taking the lead when no other process holds it."""
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = leader_lock.connect(self.engine)
                leading = leader_lock.still_held(self._conn) if self._leading else leader_lock.try_lock(self._conn)
                self._unreachable = False
            except SQLAlchemyError as error:  # the session is gone (the server restarted): so is the lock
                self._close()
                if not self._unreachable:
                    log.warning("cannot reach the database to lead: %s", error.__class__.__name__)
                self._unreachable, leading = True, False
            if leading and not self._leading:
                self.term += 1
                log.info("this server process now leads: it runs the rollup job and the alert evaluator")
            elif self._leading and not leading:
                log.warning("this server process no longer leads")
            self._leading = leading
            return leading

    def release(self):
        """Give up the lead and close the lock's connection."""
        with self._lock:
            if self._leading:
                try:
                    leader_lock.unlock(self._conn)  # at once, so that another process may take over now
                except SQLAlchemyError:
                    pass  # the session is gone, and the lock with it
            self._close()
            self._leading = False

    def _close(self):
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never back to the pool: a session holding the lock must end
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None


def init_app(app):
    """Give app its leadership, from the database's engine (no connection is made until asked)."""
    with app.app_context():
        engine = db.engine
    app.extensions[_EXTENSION] = AlwaysLeads() if engine.dialect.name == "sqlite" else AdvisoryLock(engine)


def of(app=None):
    """Return the leadership of app (default: the current app): its holds() tells whether this process leads."""
    return (app or current_app).extensions[_EXTENSION]
