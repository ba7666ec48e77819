"""Older databases open under the current schema with every sample kept: version 1 (one row per sample), 2 (deflated), 3 (keys without a scope), 4 (containers without health), 5 (agents known by name only), 6 (agents without counts of running and stopped containers), 7 (agent tokens that name no API key), 8 (keys without their last use, failed sign-ins counted per process, agents' state undated), 9 (agents without the version of their descriptions), 10 (agents without the hour their hour rollups are merged through)."""

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import engines
from kubewatch import create_app, credentials, packing, tokens
from kubewatch.kinds import KINDS
from kubewatch.db import SCHEMA_VERSION, db
from conftest import TEST_CONFIG, sample_push
from stored import deflated, samples

pytestmark = engines.sqlite_only("older schemas built as SQLite files")

FIXTURES = Path(__file__).parent / "fixtures"
V1_SCHEMA = FIXTURES / "schema_v1.sql"
OLD_KEY = "kw_live_" + "k" * 43


def _version_1_database(path):
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA.read_text())
    conn.executescript("""
        INSERT INTO organizations VALUES ('org_1', 'acme', 0);
        INSERT INTO agents (id, org_id, name, hostname, created_at, last_seen, last_push_ts, container_count)
            VALUES ('agent_1', 'org_1', 'web', 'web-01', 0, 1015, 1015, 2);
        INSERT INTO pushes VALUES ('agent_1', 1000, 1000), ('agent_1', 1015, 1015);
        INSERT INTO containers VALUES ('agent_1', 1, 'c1', 'nginx', 'nginx:1', 'running', 1000, 1000),
                                      ('agent_1', 2, 'c2', 'db', NULL, NULL, 1000, 1000);
        INSERT INTO container_samples VALUES ('agent_1', 1000, 1, 12.5, 48.0, 512.0, 100, 200, 0),
                                             ('agent_1', 1015, 1, 13.25, 49.5, 512.0, 150, 260, 1),
                                             ('agent_1', 1015, 2, NULL, NULL, NULL, NULL, NULL, NULL);
        INSERT INTO nodes VALUES ('agent_1', 1, 'n1', 'Ready', 'v1.30', 4, 8192, 110, 1000, 1000);
        INSERT INTO node_samples VALUES ('agent_1', 1015, 1, 40.0, 2048.0, 12, 5, 6, 7, 8);
        INSERT INTO pods VALUES ('agent_1', 1, 'default', 'p1', 'u1', 'n1', 'Running', 1, 1, 1, 1000, 1000);
        INSERT INTO pod_samples VALUES ('agent_1', 1015, 1, 1.5, 20.0, NULL, 1, 2, 0);
    """)
    conn.commit()
    conn.close()


def test_a_version_1_database_is_migrated_with_every_sample_packed_into_its_push(tmp_path):
    path = tmp_path / "v1.db"
    _version_1_database(path)
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{path}"))
    with app.app_context():
        def query(sql, **params):
            with db.engine.connect() as conn:
                return conn.execute(text(sql), params).all()
        assert query("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        assert samples(query) == [
            (1000, 1, (12.5, 48.0, 512.0, 100, 200, 0)),
            (1015, 1, (13.25, 49.5, 512.0, 150, 260, 1)),
            (1015, 2, (None, None, None, None, None, None)),
        ]
        assert samples(query, "nodes") == [(1015, 1, (40.0, 2048.0, 12, 5, 6, 7, 8))]
        assert samples(query, "pods") == [(1015, 1, (1.5, 20.0, None, 1, 2, 0))]
        assert query("SELECT node_count, pod_count, container_count FROM agents") == [(1, 1, 2)]
        assert query("SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(2,)]
        tables = {row[0] for row in query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not tables & {"container_samples", "node_samples", "pod_samples"}
        assert {"container_rollups", "node_rollups", "pod_rollups"} <= tables
        db.engine.dispose()


def test_a_migrated_database_opens_again_unchanged(tmp_path):
    path = tmp_path / "v1.db"
    _version_1_database(path)
    for _ in range(2):
        app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{path}"))
        with app.app_context():
            db.engine.dispose()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert conn.execute("SELECT COUNT(*) FROM pushes WHERE containers IS NOT NULL").fetchone() == (2,)
    conn.close()


def _packed_database(path, version):
    """Write a database as schema version 2 to 8 made it (from its schema.sql), with an ingest key and a push."""
    blob = packing.pack(KINDS["containers"].metrics, [1, 2], [(12.4, 48.0, 512.0, 10240, 8192, 0),
                                                              (None, None, None, None, None, None)])
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / f"schema_v{version}.sql").read_text())
    conn.executescript(f"""
        INSERT INTO organizations VALUES ('org_1', 'acme', 0);
        INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at, revoked_at)
            VALUES ('key_1', 'org_1', 'old', 'kw_live_abcd', '{credentials.hash_api_key(OLD_KEY)}', 0, NULL);
        INSERT INTO agents (id, org_id, name, hostname, created_at, last_seen, last_push_ts, container_count)
            VALUES ('agent_1', 'org_1', 'web', 'web-01', 0, 1015, 1015, 2);
        INSERT INTO containers (agent_id, key, runtime_id, name, image, status, first_seen, described_at)
            VALUES ('agent_1', 1, 'c1', 'nginx', 'nginx:1', 'running', 1000, 1000),
                   ('agent_1', 2, 'c2', 'db', NULL, NULL, 1000, 1000);
    """)
    conn.execute("INSERT INTO pushes (agent_id, ts, received_at, containers) VALUES ('agent_1', 1015, 1015, ?)",
                 (deflated(blob) if version == 2 else blob,))
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(version,)]
    conn.commit()
    conn.close()


@pytest.mark.parametrize("version", [2, 3, 4, 5, 6, 7, 8])
def test_a_version_2_to_8_database_opens_migrated_with_its_samples_and_its_keys_registering(tmp_path, version):
    url = f"sqlite:///{tmp_path / f'v{version}.db'}"
    _packed_database(tmp_path / f"v{version}.db", version)
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=url))
    with app.app_context():
        def query(sql, **params):
            with db.engine.connect() as conn:
                return conn.execute(text(sql), params).all()
        assert query("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        assert samples(query) == [(1015, 1, (12.4, 48.0, 512.0, 10240, 8192, 0)),
                                  (1015, 2, (None, None, None, None, None, None))]
        assert query("SELECT id, scope, last_used_at FROM api_keys") == [("key_1", "ingest", None)]
        # Counted from the newest push by version 7's migration: c1 runs, c2 has no status; neither stopped
        # after running. A version 7 database kept its counts as its pushes left them (none here).
        assert query("SELECT running_count, stopped_count, restart_total, restarted_at FROM agents") == [
            (1 if version < 7 else 0, 0, 0, None)]
        assert query("SELECT state_at FROM agents") == [(1015,)]  # its newest push's, received at once
    response = app.test_client().post("/api/v1/agents/register", json={"name": "n", "hostname": "h"},
                                      headers={"X-API-Key": OLD_KEY})
    assert response.status_code == 200
    with app.app_context():
        with db.engine.connect() as conn:  # its use is noted in the column version 9 added
            assert conn.execute(text("SELECT last_used_at FROM api_keys")).scalar() is not None
        db.engine.dispose()


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_each_earlier_schema_fixture_is_the_schema_sql_its_version_wrote(version):
    """The fixtures are schema.sql as released; a later edit to them would test a schema no one ran."""
    written = (FIXTURES / f"schema_v{version}.sql").read_text()
    assert f"SELECT {version} WHERE NOT EXISTS" in written
    assert "CREATE TABLE IF NOT EXISTS pushes" in written


def test_a_version_4_database_gains_container_health_and_the_alerting_tables(tmp_path):
    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "schema_v4.sql").read_text())
    conn.executescript("""
        INSERT INTO organizations VALUES ('org_1', 'acme', 0);
        INSERT INTO agents (id, org_id, name, hostname, created_at) VALUES ('agent_1', 'org_1', 'web', 'web-01', 0);
        INSERT INTO containers (agent_id, key, runtime_id, name, image, status, first_seen, described_at)
            VALUES ('agent_1', 1, 'c1', 'nginx', 'nginx:1', 'running', 1000, 1000);
    """)
    conn.commit()
    conn.close()
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{path}"))
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM schema_version")).all() == [(SCHEMA_VERSION,)]
            assert conn.execute(text("SELECT name, status, health, exit_code, oom_killed FROM containers")).all() == [
                ("nginx", "running", None, None, None)]
            tables = {row[0] for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
        db.engine.dispose()
    assert {"alert_rules", "alerts", "alert_deliveries", "notification_channels", "silences",
            "watched_containers", "alert_rule_channels"} <= tables


def test_a_version_7_database_gets_the_revocation_generation_and_its_agents_register_again(tmp_path):
    path = tmp_path / "v7.db"
    _packed_database(path, 7)
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{path}"))
    client = app.test_client()
    with app.app_context():
        old_token = tokens._sign(tokens.AGENT_PREFIX, {"a": "agent_1", "o": "org_1"})  # as version 7 signed them
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version FROM schema_version").all() == [(SCHEMA_VERSION,)]
            assert conn.exec_driver_sql("SELECT generation FROM key_revocations").all() == [(0,)]
    pushed = client.post("/api/v1/agents/agent_1/push", json=sample_push(), headers={"Authorization": f"Bearer {old_token}"})
    assert pushed.status_code == 401 and "register again" in pushed.json["message"]
    again = client.post("/api/v1/agents/register", json={"name": "web", "hostname": "web-01"},
                        headers={"X-API-Key": OLD_KEY}).json
    assert again["agentId"] == "agent_1"
    assert client.post("/api/v1/agents/agent_1/push", json=sample_push(),
                       headers={"Authorization": f"Bearer {again['token']}"}).status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_a_version_8_database_counts_failed_sign_ins_where_every_server_process_sees_them(tmp_path):
    path = tmp_path / "v8.db"
    _packed_database(path, 8)
    url = f"sqlite:///{path}"
    apps = [create_app(dict(TEST_CONFIG, DATABASE_URL=url)) for _ in range(2)]
    with apps[0].app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version FROM schema_version").all() == [(SCHEMA_VERSION,)]
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM auth_failures").scalar() == 0
    for app in apps:  # the failures of two server processes add up
        app.test_client().post("/api/v1/auth/login", json={"email": "nobody@acme.test", "password": "wrong"})
    with apps[0].app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT MAX(failures), COUNT(*) FROM auth_failures").all() == [(2, 2)]
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_a_version_9_database_gives_each_agent_the_version_of_its_descriptions(tmp_path):
    path = tmp_path / "v9.db"
    _packed_database(path, 9)
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{path}"))
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version FROM schema_version").all() == [(SCHEMA_VERSION,)]
            assert conn.exec_driver_sql("SELECT id, descriptions_version FROM agents").all() == [("agent_1", 0)]
            assert samples(lambda sql, **params: conn.execute(text(sql), params).all()) == [
                (1015, 1, (12.4, 48.0, 512.0, 10240, 8192, 0)), (1015, 2, (None, None, None, None, None, None))]
        db.engine.dispose()


def test_a_version_10_database_dates_its_agents_hours_through_the_current_hour(tmp_path):
    """Version 10 merged every hour again each minute: every hour before the current one is whole."""
    path = tmp_path / "v10.db"
    _packed_database(path, 10)
    started = int(time.time())
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{path}"))
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version FROM schema_version").all() == [(SCHEMA_VERSION,)]
            [(agent_id, through)] = conn.exec_driver_sql("SELECT id, hours_through FROM agents").all()
            assert agent_id == "agent_1" and through % 3600 == 0
            assert started - started % 3600 <= through <= int(time.time())
        db.engine.dispose()
