"""One run of the rollup job at a time on one database, whichever process runs it: the server's timer
or `flask prune`.

Two runs at once could each decide differently whether an hour is still open: one would close the
hour while the other rolled a push into its minutes, and the hour's row would miss that minute
until the hour was merged again. On SQLite the lock is an exclusive flock on a file beside the
database, which the kernel releases when the process ends, even on SIGKILL; on PostgreSQL, a
session-level advisory lock on a connection of the run's own, which ends with its session.
"""

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from kubewatch.db import db
from kubewatch.repository import leader_lock

try:
    import fcntl
except ImportError:  # no flock on this system: runs are not kept apart there
    fcntl = None


@contextmanager
def held(wait):
    """Hold the job's lock in the current app's database for a run; yield True once held, or False at once
    when another run holds it and wait is False. Raises SQLAlchemyError when PostgreSQL cannot be reached."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        with _file_lock(engine.url.database, wait) as taken:
            yield taken
        return
    with leader_lock.connect(engine) as conn:
        taken = leader_lock.lock_job(conn, wait)
        try:
            yield taken
        finally:
            if taken:
                _unlock(conn)


@contextmanager
def held_waiting(on_wait):
    """Hold the job's lock for a run, waiting for it; on_wait() runs first when another run holds it."""
    with held(wait=False) as taken:
        if taken:
            yield
            return
    on_wait()
    with held(wait=True):
        yield


def _unlock(conn):
    """Release the job's lock; a session that is gone already holds none, and its connection is dropped."""
    try:
        leader_lock.unlock_job(conn)
    except SQLAlchemyError:
        conn.invalidate()


@contextmanager
def _file_lock(database, wait):
    """Hold an exclusive flock on a file beside the SQLite database; an in-memory one has no other process."""
    if not database or database == ":memory:" or fcntl is None:
        yield True
        return
    # Opened for reading, which flock needs no more than: made by `flask prune` run as another
    # user, the file is still one the server can open.
    handle = os.open(f"{Path(database).resolve()}.rollup", os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            taken = True
        except BlockingIOError:
            taken = False
        yield taken
    finally:
        os.close(handle)  # releases the lock
