"""Older databases open under the current schema with every sample kept: version 1 (one row per sample), version 2 (deflated)."""

import sqlite3
from pathlib import Path

from sqlalchemy import text

from kubewatch import create_app
from kubewatch.db import db
from conftest import TEST_CONFIG, Org, sample_push
from stored import deflated, samples

V1_SCHEMA = Path(__file__).parent / "fixtures" / "schema_v1.sql"


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
        assert query("SELECT version FROM schema_version") == [(3,)]
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
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
    assert conn.execute("SELECT COUNT(*) FROM pushes WHERE containers IS NOT NULL").fetchone() == (2,)
    conn.close()


def test_a_version_2_database_with_deflated_samples_opens_as_version_3_and_reads_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'v2.db'}"
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=url))
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    assert org.push(agent, sample_push()).status_code == 200
    with app.app_context():
        db.engine.dispose()
    conn = sqlite3.connect(tmp_path / "v2.db")
    (blob,) = conn.execute("SELECT containers FROM pushes").fetchone()
    conn.execute("UPDATE pushes SET containers = ?", (deflated(blob),))
    conn.execute("UPDATE schema_version SET version = 2")
    conn.commit()
    conn.close()

    app = create_app(dict(TEST_CONFIG, DATABASE_URL=url))
    with app.app_context():
        def query(sql, **params):
            with db.engine.connect() as conn:
                return conn.execute(text(sql), params).all()
        assert query("SELECT version FROM schema_version") == [(3,)]
        assert samples(query) == [(1781604000, 1, (12.4, 48.0, 512.0, 10240, 8192, 0))]
        db.engine.dispose()
