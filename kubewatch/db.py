"""The one way into the database: the handle, the writer lock, read and write transactions.

The rule. Only modules of kubewatch/repository/ run statements (besides the schema's own makers,
db_setup.py and migrations.py, and backup.py's checks of its copy), in one of two styles:
- text() with :named parameters, on the connection that read(), read_one_statement() or write()
  yields. Every statement is written so, except those of the hot paths below.
- The driver directly, on the Cursor that driver(conn) (or write_cursor(), for a push) gives,
  with "{0}" for each parameter: only where a statement runs per push or per point, where
  SQLAlchemy's statement and row handling cost more than the database's work. These hot paths
  are storing a push (repository/pushes.py, object_descriptions.py, push_merge.py, describe_ahead.py),
  reading points back (a series' rollup rows and an agent's latest objects in sample_rows.py, the latest state
  for /metrics in latest.py, the evaluator's window of pushes in alert_window.py) and the rollup
  (rollup_rows.py, pruning.py, prune_pass.py).
Outside the repository, a module may hold a read() or write() open so that several repository
calls share one transaction (the rollup job, a series query, an evaluator run): it hands the
connection in, and runs no statement itself.
"""

import functools
import threading
import weakref
from contextlib import contextmanager

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

SCHEMA_VERSION = 11  # of schema.sql; db_setup.init_db migrates older databases up to it

db = SQLAlchemy()

# SQLite has one writer; writers of this process queue here instead of sleeping in busy back-off.
_writer = threading.Lock()
# How many threads wait for _writer: a long writer taking turns (describe_ahead) rests only while one does.
_waiting = 0
_waiting_count = threading.Lock()
# The connection write_cursor writes on, per engine, kept out of the pool between pushes: taking
# it from the pool and giving it back (with a reset) cost a tenth of a push. Used under _writer only.
_write_connections = weakref.WeakKeyDictionary()


def read():
    """Return a connection for reading text() statements; use it in a `with` block."""
    return db.engine.connect()


def read_one_statement():
    """Return a connection for one read statement, run outside any transaction; use it in a `with` block.

    On PostgreSQL the read is one round trip, where read() costs three: BEGIN, the read, and the
    pool's ROLLBACK. Only for one statement: each statement on it sees a snapshot of its own.
    """
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def write(on_commit=()):
    """Yield a connection in a short write transaction, committed on exit, rolled back on error.

    The callables in on_commit (which the block may still append to) run after the commit,
    before the next writer starts: state kept beside the database changes with it.
    """
    with one_writer(on_commit), db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Take the write lock now, so a read inside the transaction can't go stale.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


class Cursor:
    """The driver's own cursor, taking statements with "{0}" for each positional parameter.

    A driver's error is raised as SQLAlchemy's (OperationalError for locked, read-only, full or
    gone), as a text() statement would raise it, so that it is answered the same way.
    """

    __slots__ = ("cursor", "marker", "engine", "_errors", "_pipelined")

    def __init__(self, engine, cursor, pipelined=None):
        self.engine, self.cursor, self._pipelined = engine, cursor, pipelined
        self.marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._errors = engine.dialect.loaded_dbapi.Error

    def _next(self):
        # In pipeline mode, a statement's result comes in later and goes to the driver's cursor
        # that sent it: one cursor each, so that no statement reads another's.
        return self.cursor if self._pipelined is None else self._pipelined.cursor()

    def execute(self, statement, parameters=()):
        """Run statement; return the driver's cursor, for its rows and rowcount."""
        cursor = self._next()
        try:
            cursor.execute(_with_marker(statement, self.marker), parameters)
        except self._errors as error:
            raise DBAPIError.instance(statement, parameters, error, self._errors, hide_parameters=True) from error
        return cursor

    def executemany(self, statement, rows):
        """Run statement once for each row of parameters; return the driver's cursor."""
        cursor = self._next()
        try:
            cursor.executemany(_with_marker(statement, self.marker), rows)
        except self._errors as error:
            raise DBAPIError.instance(statement, None, error, self._errors, hide_parameters=True) from error
        return cursor


def driver(conn):
    """Return a Cursor on the driver's connection under conn (from read() or write()), in its transaction."""
    return Cursor(conn.engine, conn.connection.dbapi_connection.cursor())


@functools.lru_cache(maxsize=512)
def _with_marker(statement, marker):
    return statement.format(marker)  # formatted once per statement and driver, not on every call


@contextmanager
def write_cursor(on_commit=()):
    """Like write(), but yield a Cursor, on a connection kept for the push path between pushes.

    A driver's error, from a statement or the commit, is raised as SQLAlchemy's.
    """
    engine = db.engine
    with one_writer(on_commit):
        connection = _write_connections.get(engine)
        if connection is None:
            connection = _keep_write_connection(engine)
        try:
            if engine.dialect.driver == "psycopg":
                # In pipeline mode, on a connection in autocommit (_keep_write_connection): BEGIN goes
                # with the first statement, and the statements whose results are not read go with the
                # next that is read, or with COMMIT. A steady push waits twice for the server, not five times.
                with connection.dbapi_connection.pipeline():
                    cursor = Cursor(engine, None, connection.dbapi_connection)
                    cursor.execute("BEGIN")
                    yield cursor
                    cursor.execute("COMMIT")
            else:
                cursor = Cursor(engine, connection.cursor())
                if engine.dialect.name == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                connection.commit()
        except BaseException as error:
            _forget_write_connection(engine, connection)
            errors = engine.dialect.loaded_dbapi.Error
            if isinstance(error, errors):
                raise DBAPIError.instance(None, None, error, errors, hide_parameters=True) from error
            raise


def _keep_write_connection(engine):
    """Take a connection from the pool for write_cursor to keep, until a write fails or the engine is disposed."""
    connection = _write_connections[engine] = engine.raw_connection()
    if engine.dialect.driver == "psycopg":
        connection.dbapi_connection.autocommit = True  # write_cursor sends BEGIN itself, in its pipeline
    if not event.contains(engine, "engine_disposed", _close_write_connection):
        event.listen(engine, "engine_disposed", _close_write_connection)
    return connection


def _close_write_connection(engine):
    """Close the kept connection of an engine being disposed (its pool is already a new one)."""
    with _writer:
        connection = _write_connections.pop(engine, None)
        if connection is not None:
            connection.invalidate()  # closed now: given back, it would stay open in the old pool


def _forget_write_connection(engine, connection):
    """Give a failed write's connection back to the pool, rolled back; close it when even that fails."""
    del _write_connections[engine]
    try:
        connection.rollback()
        if engine.dialect.driver == "psycopg":
            connection.dbapi_connection.autocommit = False  # as the pool's other connections
    except Exception:  # a connection the server dropped: the write's own error is the one to raise
        connection.invalidate()
    else:
        connection.close()


@contextmanager
def one_writer(on_commit=()):
    """Hold the writer lock for one transaction; run on_commit's callables once it has committed."""
    with _waiting_for(_writer):
        yield  # an error in the transaction skips the callables: nothing was committed
        for callback in on_commit:
            callback()


def writers_waiting():
    """Return how many threads of this process wait for the writer lock now."""
    return _waiting


@contextmanager
def _waiting_for(lock):
    """Hold lock, counted in writers_waiting() until it is taken."""
    global _waiting
    with _waiting_count:
        _waiting += 1
    waiting = True
    try:
        with lock:
            with _waiting_count:
                _waiting -= 1
            waiting = False
            yield
    finally:
        if waiting:  # never taken: the wait itself was interrupted
            with _waiting_count:
                _waiting -= 1
