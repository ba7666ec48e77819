"""The database made ready: bound to the app, SQLite's pragmas on each connection, the schema created or migrated."""

import re
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import event, inspect, text

from kubewatch.db import SCHEMA_VERSION, db, one_writer
from kubewatch.migrations import MIGRATIONS

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.sql"
# The PostgreSQL advisory lock that servers starting at once on one database take in turn: any
# number, the same in every kubewatch ("kwst" in ASCII).
STARTING_LOCK = 0x6B777374


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
    with starting(), _migrating() as conn:
        version = None
        if inspect(conn).has_table("schema_version"):
            version = conn.execute(text("SELECT version FROM schema_version")).scalar()
        if version == SCHEMA_VERSION and conn.dialect.name == "postgresql":
            # Written whole by one transaction: nothing to create. CREATE INDEX IF NOT EXISTS locks its
            # table before it finds the index there, and a server started beside others that were
            # storing pushes deadlocked with them on it.
            return
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


@contextmanager
def starting():
    """Hold, on PostgreSQL, the lock of a server's start (the schema, the first admin); on SQLite do nothing.

    Servers started at once on an empty database take turns: the first creates the tables and
    the admin, the next finds them. (On SQLite, a second server on a file is refused at start.)
    """
    if db.engine.dialect.name != "postgresql":
        yield
        return
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTING_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTING_LOCK})
            conn.commit()


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
            with one_writer(), conn.begin():
                if sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("the migration left rows whose foreign keys point nowhere")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
                conn.commit()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create the database tables if they do not exist."""
    init_db()
    url = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"Database ready at {url} (schema {SCHEMA_VERSION}).")
