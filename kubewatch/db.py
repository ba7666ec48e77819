"""The database handle, its connection settings, schema creation and the writer lock."""

import functools
import re
import threading
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import click
from flask.cli import with_appcontext
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import OperationalError

from kubewatch.migrations import MIGRATIONS

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.sql"
SCHEMA_VERSION = 9

db = SQLAlchemy()

# SQLite has one writer; writers of this process queue here instead of sleeping in busy back-off.
_writer = threading.Lock()
# The connection write_cursor writes on, per engine, kept out of the pool between pushes: taking
# it from the pool and giving it back (with a reset) cost a tenth of a push. Used under _writer only.
_write_connections = weakref.WeakKeyDictionary()


class SchemaTooNew(RuntimeError):
    """The database was written by a newer kubewatch than this one."""


def init_app(app):
    """Bind the database to app, set SQLite's pragmas, create the schema, add `flask init-db`."""
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            pragmas = _sqlite_pragmas(db.engine.url.database, app.config["SQLITE_SYNCHRONOUS"],
                                      app.config["SQLITE_MAX_PAGE_COUNT"])
            event.listen(db.engine, "connect", pragmas)
        init_db()
    app.cli.add_command(init_db_command)


def _sqlite_pragmas(database, synchronous, max_page_count):
    """Return a connect hook that sets foreign keys, a busy timeout and, for files, WAL and a size cap."""
    is_file = database not in (None, "", ":memory:")
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        if is_file:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
            if max_page_count:
                cursor.execute(f"PRAGMA max_page_count = {int(max_page_count)}")
        cursor.close()

    return on_connect


def init_db():
    """Create missing tables and migrate an older schema; safe to run any number of times.

    Raises SchemaTooNew when the database comes from a newer kubewatch.
    """
    statements = schema_statements()
    with _migrating() as conn:
        version = None
        if inspect(conn).has_table("schema_version"):
            version = conn.execute(text("SELECT version FROM schema_version")).scalar()
        if version is not None and version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the database has schema version {version}, written by a newer kubewatch; this one reads "
                f"schema version {SCHEMA_VERSION} and older: upgrade kubewatch, or restore a backup this version made")
        # Older tables are migrated first: the schema's indexes may name columns they lack.
        while version is not None and version < SCHEMA_VERSION:
            MIGRATIONS[version](conn)
            version += 1
            conn.execute(text("UPDATE schema_version SET version = :v"), {"v": version})
        for statement in statements:
            if conn.dialect.name != "sqlite":
                statement = statement.replace(") WITHOUT ROWID", ")")  # SQLite's alone
            conn.execute(text(statement))


def schema_statements():
    """Return the statements of schema.sql, in order."""
    return [s for s in re.split(r";\s*$", SCHEMA_PATH.read_text(), flags=re.M) if s.strip()]


@contextmanager
def _migrating():
    """Yield a connection in a write transaction; on SQLite, with foreign keys off until it commits.

    Off, so that a migration can rebuild a table others refer to (SQLite cannot drop a constraint)
    without its DROP TABLE deleting their rows; the keys are checked before the commit.
    """
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")  # outside a transaction, or it does nothing
            conn.commit()
        try:
            with _one_writer(()), conn.begin():
                if sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("the migration left rows whose foreign keys point nowhere")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
                conn.commit()


@contextmanager
def write(on_commit=()):
    """Yield a connection in a short write transaction, committed on exit, rolled back on error.

    The callables in on_commit (which the block may still append to) run after the commit,
    before the next writer starts: state kept beside the database changes with it.
    """
    with _one_writer(on_commit), db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Take the write lock now, so a read inside the transaction can't go stale.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


class DriverWrite(NamedTuple):
    """A write transaction on the driver's own cursor, taking statements with "{0}" placeholders."""

    engine: object
    cursor: object
    marker: str  # the driver's parameter marker, as driver_sql puts it in

    def execute(self, statement, parameters=()):
        """Run statement with its "{0}" placeholders made the driver's; return the cursor for its rows."""
        self.cursor.execute(_with_marker(statement, self.marker), parameters)
        return self.cursor

    def executemany(self, statement, rows):
        """Run statement once for each row of parameters."""
        self.cursor.executemany(_with_marker(statement, self.marker), rows)


@contextmanager
def write_cursor(on_commit=()):
    """Like write(), but yield a DriverWrite: statements go to the driver's own cursor.

    For the push path, where SQLAlchemy's connection and statement handling cost more than
    SQLite's work. The driver's OperationalError (locked, read-only, full, gone) is raised as
    SQLAlchemy's, as write() would raise it, so it is answered the same way.
    """
    engine = db.engine
    with _one_writer(on_commit):
        connection = _write_connections.get(engine)
        if connection is None:
            connection = _keep_write_connection(engine)
        try:
            cursor = connection.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            yield DriverWrite(engine, cursor, _marker(engine.dialect))
            connection.commit()
        except BaseException as error:
            _forget_write_connection(engine, connection)
            if isinstance(error, engine.dialect.loaded_dbapi.OperationalError):
                raise OperationalError(None, None, error) from error
            raise


def _keep_write_connection(engine):
    """Take a connection from the pool for write_cursor to keep, until a write fails or the engine is disposed."""
    connection = _write_connections[engine] = engine.raw_connection()
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
    except Exception:  # a connection the server dropped: the write's own error is the one to raise
        connection.invalidate()
    else:
        connection.close()


@contextmanager
def _one_writer(on_commit):
    """Hold the writer lock for one transaction; run on_commit's callables once it has committed."""
    with _writer:
        yield  # an error in the transaction skips the callables: nothing was committed
        for callback in on_commit:
            callback()


def driver_sql(statement):
    """Return statement with its {0} placeholders in the driver's own parameter marker.

    For the statements run most often: given to the driver with positional parameters, they
    skip SQLAlchemy's parameter processing, which costs more than SQLite's work on those paths.
    """
    return _with_marker(statement, _marker(db.engine.dialect))


def _marker(dialect):
    """Return the driver's parameter marker: "?" for SQLite, "%s" for PostgreSQL's drivers."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


@functools.lru_cache(maxsize=256)
def _with_marker(statement, marker):
    return statement.format(marker)  # formatted once per statement and driver, not on every call


def read():
    """Return a connection for reading; use it in a `with` block."""
    return db.engine.connect()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create the database tables if they do not exist."""
    init_db()
    url = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"Database ready at {url} (schema {SCHEMA_VERSION}).")
