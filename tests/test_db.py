"""The database: schema creation that is safe to repeat, its version, SQLite's settings, write transactions."""

import ast
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

import engines
from engines import sqlite_only
from kubewatch import create_app
from kubewatch import db, db_setup

TABLES = ["schema_version", "organizations", "users", "api_keys", "agents", "pushes", "containers", "nodes", "pods",
          "container_rollups", "node_rollups", "pod_rollups"]


@pytest.fixture
def file_app(db_engine, tmp_path):
    """An app on a real SQLite file, as the server runs (on PostgreSQL, a second database of the test)."""
    app = create_app({"TESTING": True, "DATABASE_URL": engines.file_url(tmp_path / "kw.db"), "SECRET_KEY": "x"})
    yield app
    with app.app_context():
        db.db.engine.dispose()


@pytest.fixture(params=["memory", "file"])
def any_app(request, app):
    """The in-memory app and the file app in turn."""
    return app if request.param == "memory" else request.getfixturevalue("file_app")


def tables(app):
    with app.app_context(), db.read() as conn:
        return set(inspect(conn).get_table_names())


def count(app, table):
    with app.app_context(), db.read() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def add_org(conn, name="acme"):
    conn.execute(text("INSERT INTO organizations (id, name, created_at) VALUES (:id, :name, 0)"),
                 {"id": "org_" + name, "name": name})


def test_create_app_creates_every_table(any_app):
    assert tables(any_app) >= set(TABLES)


def test_init_db_is_safe_to_run_twice(any_app):
    with any_app.app_context():
        with db.write() as conn:
            add_org(conn)
        db_setup.init_db()
        db_setup.init_db()
    assert tables(any_app) >= set(TABLES)
    assert count(any_app, "organizations") == 1  # the data is kept
    assert count(any_app, "schema_version") == 1


def test_restarting_on_an_existing_database_file_keeps_its_data(file_app):
    with file_app.app_context(), db.write() as conn:
        add_org(conn)
    again = create_app(dict(file_app.config))
    try:
        assert count(again, "organizations") == 1
    finally:
        with again.app_context():
            db.db.engine.dispose()


def test_schema_version_is_recorded_once(any_app):
    with any_app.app_context(), db.read() as conn:
        rows = conn.execute(text("SELECT version FROM schema_version")).all()
    assert [tuple(r) for r in rows] == [(db.SCHEMA_VERSION,)]


def test_a_database_from_a_newer_kubewatch_is_refused(any_app):
    with any_app.app_context():
        with db.write() as conn:
            conn.execute(text("UPDATE schema_version SET version = :v"), {"v": db.SCHEMA_VERSION + 1})
        with pytest.raises(db_setup.SchemaTooNew, match="newer"):
            db_setup.init_db()
        with db.read() as conn:  # refused, not downgraded
            assert conn.execute(text("SELECT version FROM schema_version")).scalar_one() == db.SCHEMA_VERSION + 1


def test_a_server_started_on_a_newer_database_file_refuses_to_start(file_app):
    with file_app.app_context(), db.write() as conn:
        conn.execute(text("UPDATE schema_version SET version = 99"))
    with pytest.raises(db_setup.SchemaTooNew) as refused:
        create_app(dict(file_app.config))
    assert "schema version 99" in str(refused.value)
    assert f"schema version {db.SCHEMA_VERSION} and older" in str(refused.value)


def pragmas(conn):
    return {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}


@sqlite_only("SQLite's pragmas")
def test_every_connection_to_a_database_file_uses_wal_foreign_keys_a_busy_timeout_and_normal_sync(file_app):
    expected = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 1}
    with file_app.app_context():
        # Three connections at once: the pool has to open new ones, each must be set up.
        with db.read() as first, db.read() as second, db.read() as third:
            assert [pragmas(c) for c in (first, second, third)] == [expected] * 3
        with db.write() as conn:
            assert pragmas(conn) == expected


@sqlite_only("SQLite's pragmas")
@pytest.mark.parametrize("synchronous, level", [("NORMAL", 1), ("FULL", 2)])
def test_sqlite_synchronous_setting_reaches_every_file_connection(tmp_path, synchronous, level):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/kw.db", "SECRET_KEY": "x",
                      "SQLITE_SYNCHRONOUS": synchronous})
    try:
        with app.app_context(), db.read() as first, db.read() as second:
            assert [pragmas(c)["synchronous"] for c in (first, second)] == [level, level]
    finally:
        with app.app_context():
            db.db.engine.dispose()


def test_the_database_enforces_foreign_keys(app):
    with app.app_context():
        if not engines.on_postgresql():  # SQLite only when told, on each connection; PostgreSQL always
            with db.read() as conn:
                assert pragmas(conn)["foreign_keys"] == 1
        with pytest.raises(Exception, match="FOREIGN KEY|foreign key"):
            with db.write() as conn:
                conn.execute(text("INSERT INTO users (id, org_id, email, password_hash, role, created_at) "
                                  "VALUES ('usr_1', 'org_missing', 'a@b.test', 'h', 'admin', 0)"))
    assert count(app, "users") == 0


def test_deleting_an_organization_deletes_its_users_and_keys(any_app):
    with any_app.app_context(), db.write() as conn:
        add_org(conn)
        conn.execute(text("INSERT INTO users (id, org_id, email, password_hash, role, created_at) "
                          "VALUES ('usr_1', 'org_acme', 'a@acme.test', 'h', 'admin', 0)"))
        conn.execute(text("INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at) "
                          "VALUES ('key_1', 'org_acme', 'k', 'kw_live_abcd', 'hash', 0)"))
    with any_app.app_context(), db.write() as conn:
        conn.execute(text("DELETE FROM organizations"))
    assert (count(any_app, "users"), count(any_app, "api_keys")) == (0, 0)


class Boom(Exception):
    pass


def test_a_failed_write_transaction_is_rolled_back(any_app):
    with any_app.app_context():
        with pytest.raises(Boom):
            with db.write() as conn:
                add_org(conn, "lost")
                raise Boom
        assert count(any_app, "organizations") == 0
        # The writer lock was released: the next write goes through and is kept.
        assert not db._writer.locked()
        with db.write() as conn:
            add_org(conn, "kept")
    assert count(any_app, "organizations") == 1


def test_a_read_outside_a_transaction_leaves_the_pooled_connection_transactional(any_app):
    with any_app.app_context():
        with db.read_one_statement() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM organizations")).scalar_one() == 0
            alone = conn.connection.dbapi_connection
        others = []  # the pool's other connections, held so that the write gets that one
        try:
            while (taken := db.read()).connection.dbapi_connection is not alone:
                others.append(taken)
                assert len(others) < 20, "the pool lost the connection"
            taken.close()
            with pytest.raises(Boom):
                with db.write() as conn:
                    assert conn.connection.dbapi_connection is alone
                    add_org(conn, "lost")
                    raise Boom
        finally:
            for other in others:
                other.close()
    assert count(any_app, "organizations") == 0


def test_a_write_transaction_is_committed_on_exit(any_app):
    with any_app.app_context(), db.write() as conn:
        add_org(conn)
    assert count(any_app, "organizations") == 1


# The statements of the hot paths, run on the driver's cursor: each module is named in db.py's rule.
DRIVER_MODULES = {"repository/pushes.py", "repository/object_descriptions.py", "repository/push_merge.py",
                  "repository/describe_ahead.py",
                  "repository/sample_rows.py",
                  "repository/latest.py", "repository/alert_window.py", "repository/rollup_rows.py",
                  "repository/pruning.py", "repository/prune_pass.py"}


def _uses(path):
    """Return what a module of the package does with the database: statements, the driver, raw connections."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module in ("sqlalchemy", "kubewatch.db"):
            names = {alias.name for alias in node.names}
            found |= {"statements"} if "text" in names else set()
            found |= {"driver"} if names & {"driver", "write_cursor"} else set()
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "{0}" in node.value \
                and any(word in node.value for word in ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", " WHERE ")):
            found.add("driver")  # a statement with the driver's "{0}" placeholders
        elif isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany"):
            found.add("statements")
        elif isinstance(node, ast.Attribute) and node.attr in ("exec_driver_sql", "dbapi_connection", "raw_connection"):
            found.add("raw")
    return found


def test_only_the_repository_runs_statements_and_only_the_hot_paths_named_in_the_rule_use_the_driver():
    package = Path(db.__file__).parent
    uses = {path.relative_to(package).as_posix(): _uses(path) for path in package.rglob("*.py")}
    statements = {name for name, found in uses.items() if "statements" in found}
    assert {name for name in statements if not name.startswith("repository/")} == {
        "db.py", "db_setup.py", "migrations.py", "backup.py"}
    assert {name for name, found in uses.items() if "driver" in found} == DRIVER_MODULES
    assert {name for name, found in uses.items() if "raw" in found} == {"db.py", "db_setup.py"}
    for name in DRIVER_MODULES:
        assert name.split("/")[-1] in db.__doc__
