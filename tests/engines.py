"""The engines the suite runs on: each test of a database runs on SQLite and on PostgreSQL (the `db_engine` fixture).

The PostgreSQL variants need a server where the tests may create and drop databases: the one the
postgresql+psycopg:// URL in KUBEWATCH_TEST_DATABASE names (.ci/run starts a throwaway one), or
else a throwaway cluster this run starts itself from Debian's PostgreSQL binaries
(tests/pg_cluster.py); without either they skip, saying so. Each test's first database is this
process's own one, emptied (TRUNCATE of every table, about 20 ms; the app's start then puts back
the schema's first rows): CREATE DATABASE from a template took 50 ms on a quiet machine and 300 ms
on a busy one. A test's further databases are copies of a template holding the schema, or empty
ones for servers that make their schema themselves; those are dropped after the test.
"""

import itertools
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from sqlalchemy.engine import make_url

from kubewatch.engines import database_url

SQLITE, POSTGRESQL = "sqlite", "postgresql"
NAMES = (SQLITE, POSTGRESQL)
VARIABLE = "KUBEWATCH_TEST_DATABASE"

_current = None  # the engine of the test running: set before its fixtures by conftest.py
SERVER = ""  # the PostgreSQL server's URL, once found or started


def use(name):
    """Make name (an engine of NAMES, or None for a test of no database) the current test's engine."""
    global _current
    _current = name


def current():
    """Return the current test's engine: "sqlite" or "postgresql"."""
    if _current is None:
        raise RuntimeError("this test uses a database: ask for the db_engine fixture, or mark it sqlite_only or postgresql_only")
    return _current


def on_postgresql():
    """Return whether the current test runs on PostgreSQL."""
    return current() == POSTGRESQL


def no_such_table():
    """Return the answer to a write on a table that does not exist (how tests break a write).

    SQLite reports it as an OperationalError (503, as for a locked database), PostgreSQL as a ProgrammingError (500).
    """
    return 500 if on_postgresql() else 503


def sqlite_only(why):
    """Mark a test of what only SQLite has (its files, pragmas, locks): it is generated for SQLite alone, saying why."""
    return pytest.mark.engine_only(SQLITE, why)


def postgresql_only(why):
    """Mark a test of what only PostgreSQL has (several processes, advisory locks): generated for PostgreSQL alone."""
    return pytest.mark.engine_only(POSTGRESQL, why)


def server():
    """Return the PostgreSQL server's URL (KUBEWATCH_TEST_DATABASE, or a cluster started now), or skip saying why not."""
    global SERVER
    if not SERVER:
        url = os.environ.get(VARIABLE, "")
        if not url:
            import pg_cluster
            url = pg_cluster.start()
        if not url.startswith("postgresql"):
            pytest.skip(f"PostgreSQL: {VARIABLE} is not set and {url}")
        SERVER = database_url(url)
    return SERVER


_names = itertools.count()
_made = []  # databases made during the current test, dropped after it
_kept = []  # databases made by a fixture wider than a test (a module's server), dropped at the end
_in_test = False  # between a test's start and its end (a wider fixture's setup is outside)
_by_path = {}  # {SQLite file path given: the database standing for it}
_admin = None
_template = None
_own = None  # (name, tables) of this process's database, emptied for each test's first database
_own_taken = False  # whether the current test took it already


def _admin_engine():
    global _admin
    if _admin is None:
        _admin = create_engine(server(), isolation_level="AUTOCOMMIT")
    return _admin


def _url(name):
    return make_url(server()).set(database=name).render_as_string(hide_password=False)


def _create(template):
    name = f"kwtest_{os.getpid()}_{next(_names)}"
    strategy = " STRATEGY FILE_COPY" if template != "template0" else ""  # the faster copy of a small database
    with _admin_engine().connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
    return name


def _made_with_schema():
    """Return (name, tables) of a new database with the schema made by an app."""
    from conftest import TEST_CONFIG
    from kubewatch import create_app
    from kubewatch.db import db
    name = _create("template0")
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=_url(name)))
    with app.app_context():
        with db.engine.connect() as conn:
            tables = conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").scalars().all()
        db.engine.dispose()
    return name, tables


def _empty(name, tables):
    """Empty every table of a database, first closing the connections a test's apps left open to it."""
    with _admin_engine().connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    engine = create_engine(_url(name), poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    engine.dispose()


def _schema_template():
    """Return the name of this process's template database, made with the schema on first use."""
    global _template
    if _template is None:
        _template = _made_with_schema()[0]
    return _template


def fresh_url(schema=True):
    """Return the URL of a new, empty database: sqlite:// in memory, or a PostgreSQL database of this test.

    schema: on PostgreSQL, copy the template with the tables made (an app would make them anyway).
    """
    global _own, _own_taken
    if not on_postgresql():
        return "sqlite://"
    if schema and _in_test and not _own_taken:
        _own_taken = True
        if _own is None:
            _own = _made_with_schema()
        else:
            _empty(*_own)
        return _url(_own[0])
    name = _create(_schema_template() if schema else "template0")
    (_made if _in_test else _kept).append(name)
    return _url(name)


def file_url(path, schema=True):
    """Return sqlite:///path, or on PostgreSQL the database standing for that file in this test (the same for the same path)."""
    if not on_postgresql():
        return f"sqlite:///{path}"
    key = os.path.abspath(path)
    if key not in _by_path:
        _by_path[key] = fresh_url(schema)
    return _by_path[key]


def begin_test():
    """Note that a test starts: the databases made from now on are its own."""
    global _in_test
    _in_test = True


def drop_made():
    """Drop the databases made during the test that ends, closing what is still connected to them."""
    global _own_taken, _in_test
    dropped = set(_made) | ({_own[0]} if _own else set())
    for path, url in list(_by_path.items()):
        if make_url(url).database in dropped:
            del _by_path[path]
    _own_taken = _in_test = False
    while _made:
        name = _made.pop()
        with _admin_engine().connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_all():
    """Drop this process's template and own database at the end of the session."""
    global _template, _own
    for name in (_template, _own and _own[0], *_kept):
        if name is not None:
            with _admin_engine().connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _template = _own = None
    _kept.clear()
    if _admin is not None:
        _admin.dispose()


def rows(url, sql, **params):
    """Return the rows of one statement (text() with :named parameters) on the database at url, as tuples."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def schema_version():
    """Return the schema version this kubewatch writes."""
    from kubewatch.db import SCHEMA_VERSION
    return SCHEMA_VERSION
