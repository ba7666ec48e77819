"""Who an agent is: its instanceId when it sends one, else its name and hostname."""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

import engines
from conftest import TEST_CONFIG, Org, bearer, container, sample_push
from kubewatch import create_app
from kubewatch.db import SCHEMA_VERSION, db

DEBIAN = {"name": "debian", "hostname": "debian"}
V5_SCHEMA = Path(__file__).parent / "fixtures" / "schema_v5.sql"


def listed(org, agent):
    return org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer)).json


def register(org, **body):
    return org.client.post("/api/v1/agents/register", json=body, headers={"X-API-Key": org.api_key})


def test_two_machines_with_one_name_and_hostname_but_their_own_instance_ids_are_two_agents(org):
    first = org.register(**DEBIAN, instanceId="vps-one-machine-id")
    second = org.register(**DEBIAN, instanceId="vps-two-machine-id")
    assert first["agentId"] != second["agentId"]
    assert org.push(first, sample_push(containers=[container("aaaa", "web")])).status_code == 200
    assert org.push(second, sample_push(containers=[container("bbbb", "db")])).status_code == 200
    assert [c["name"] for c in listed(org, first)] == ["web"]
    assert [c["name"] for c in listed(org, second)] == ["db"]
    assert sorted(a["name"] for a in org.agents().json) == ["debian", "debian"]


def test_the_same_instance_id_under_a_new_name_and_hostname_is_a_rename_that_keeps_id_and_history(org):
    before = org.register(**DEBIAN, instanceId="machine-0123456789")
    assert org.push(before, sample_push("2026-06-16T10:00:00Z")).status_code == 200
    after = org.register(name="web-1", hostname="web-1.example.org", instanceId="machine-0123456789")
    assert after["agentId"] == before["agentId"]
    assert org.push(after, sample_push("2026-06-16T10:00:15Z")).status_code == 200
    [agent] = org.agents().json
    assert (agent["name"], agent["hostname"]) == ("web-1", "web-1.example.org")
    points = org.client.get(f"/api/v1/agents/{after['agentId']}/containers/a1b2c3d4e5f6/metrics"
                            "?from=2026-06-16T09:59:00Z&to=2026-06-16T10:01:00Z", headers=bearer(org.viewer)).json
    assert [p["t"] for p in points["points"]] == ["2026-06-16T10:00:00Z", "2026-06-16T10:00:15Z"]


def test_without_instance_id_the_name_and_hostname_rule_stands(org):
    first = org.register(**DEBIAN)
    again = org.register(**DEBIAN, instanceId=None)
    assert first["agentId"] == again["agentId"]
    assert org.register(name="debian", hostname="other")["agentId"] != first["agentId"]


def test_an_agent_registered_before_instance_ids_keeps_its_id_when_it_first_sends_one(org):
    old = org.register(**DEBIAN)
    upgraded = org.register(**DEBIAN, instanceId="first-machine-id")
    assert upgraded["agentId"] == old["agentId"]
    # The second machine of that name now gets an agent of its own, and the first keeps its own.
    assert org.register(**DEBIAN, instanceId="second-machine-id")["agentId"] != old["agentId"]
    assert org.register(**DEBIAN, instanceId="first-machine-id")["agentId"] == old["agentId"]


def test_an_agent_without_instance_id_is_not_taken_for_one_that_has_one(org):
    known = org.register(**DEBIAN, instanceId="first-machine-id")
    assert org.register(**DEBIAN)["agentId"] != known["agentId"]


def test_instance_ids_belong_to_their_organization(org, other_org):
    assert org.register(**DEBIAN, instanceId="shared-image-id")["agentId"] != \
        other_org.register(**DEBIAN, instanceId="shared-image-id")["agentId"]


@pytest.mark.parametrize("instance_id", ["short77", "x" * 129, "", 12345678, ["machine-id"]])
def test_an_instance_id_not_of_8_to_128_characters_is_400_and_registers_nothing(org, query, instance_id):
    response = register(org, **DEBIAN, instanceId=instance_id)
    assert response.status_code == 400
    assert "instanceId" in response.json["errors"]["json"]
    assert query("SELECT COUNT(*) FROM agents") == [(0,)]


@pytest.mark.parametrize("instance_id", ["x" * 8, "x" * 128])
def test_instance_ids_of_8_and_of_128_characters_are_taken(org, instance_id):
    assert register(org, **DEBIAN, instanceId=instance_id).status_code == 200


def test_the_openapi_document_describes_instance_id(client):
    register_body = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Register"]
    assert register_body["properties"]["instanceId"]["minLength"] == 8


def _version_5_database(path):
    conn = sqlite3.connect(path)
    conn.executescript(V5_SCHEMA.read_text())
    conn.executescript("""
        INSERT INTO organizations VALUES ('org_1', 'acme', 0);
        INSERT INTO agents (id, org_id, name, hostname, created_at, last_seen, last_push_ts, container_count)
            VALUES ('agent_1', 'org_1', 'debian', 'debian', 0, 1015, 1015, 1);
        INSERT INTO pushes (agent_id, ts, received_at) VALUES ('agent_1', 1000, 1000), ('agent_1', 1015, 1015);
        INSERT INTO containers (agent_id, key, runtime_id, name, image, status, first_seen, described_at)
            VALUES ('agent_1', 1, 'c1', 'nginx', 'nginx:1', 'running', 1000, 1015);
    """)
    conn.commit()
    conn.close()


@engines.sqlite_only("a version 5 database built as a SQLite file")
def test_a_version_5_database_keeps_its_agents_and_takes_two_agents_of_one_name(tmp_path):
    path = tmp_path / "v5.db"
    _version_5_database(path)
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{path}"))

    def query(sql):
        with app.app_context(), db.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql)).all()]
    assert query("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert query("SELECT id, name, last_push_ts, state_at, container_count, instance_id FROM agents") == [
        ("agent_1", "debian", 1015, 1015, 1, None)]
    assert query("SELECT COUNT(*) FROM pushes") == [(2,)] and query("SELECT COUNT(*) FROM containers") == [(1,)]
    assert query("PRAGMA foreign_keys") == [(1,)]  # back on for everyone after the migration
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("INSERT INTO users VALUES ('usr_1', 'org_1', 'a@acme.test', 'x', 'admin', 0)"))
    org = Org.__new__(Org)
    org.client, org.id = app.test_client(), "org_1"
    from kubewatch.accounts import add_api_key
    with app.app_context():
        org.api_key = add_api_key("org_1", "k")["key"]
    assert register(org, **DEBIAN, instanceId="first-machine-id").json["agentId"] == "agent_1"
    assert register(org, **DEBIAN, instanceId="second-machine-id").json["agentId"] != "agent_1"
    # The foreign keys still cascade: deleting the agent takes its pushes and containers.
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM agents WHERE id = 'agent_1'"))
    assert query("SELECT COUNT(*) FROM pushes") == [(0,)] and query("SELECT COUNT(*) FROM containers") == [(0,)]
    with app.app_context():
        db.engine.dispose()
