"""Two apps on one database (as two server processes on PostgreSQL) agree on what describes an agent's objects."""

import pytest
from sqlalchemy import text

from conftest import TEST_CONFIG, Org, bearer, container, sample_push
from kubewatch import create_app
from kubewatch.db import db


@pytest.fixture
def apps(tmp_path):
    """Two apps on one SQLite file, each with its own engine and what it remembers of pushes."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    made = [create_app(dict(TEST_CONFIG, DATABASE_URL=url)) for _ in range(2)]
    yield made
    for app in made:
        with app.app_context():
            db.engine.dispose()


def _agent(app, client):
    org = Org(app, client, "acme")
    registered = client.post("/api/v1/agents/register", headers={"X-API-Key": org.api_key},
                             json={"name": "web", "hostname": "web-01"}).json
    return org, registered["agentId"], bearer(registered["token"])


def _push(client, agent_id, token, second, status):
    pushed = client.post(f"/api/v1/agents/{agent_id}/push", headers=token, json=sample_push(
        f"2026-06-16T10:00:{second:02d}Z", [container("c0", "c0", status=status)]))
    assert pushed.status_code == 200, pushed.json


def test_a_description_changed_through_one_app_is_what_the_other_lists_and_keeps(apps):
    one, two = (app.test_client() for app in apps)
    org, agent_id, token = _agent(apps[0], one)
    _push(one, agent_id, token, 0, "running")  # one remembers c0 running
    _push(two, agent_id, token, 1, "exited")
    _push(one, agent_id, token, 2, "running")  # the same as one remembers, but not as stored
    for client in (one, two):
        listed = client.get(f"/api/v1/agents/{agent_id}/containers", headers=bearer(org.admin)).json
        assert [(c["name"], c["status"]) for c in listed] == [("c0", "running")]


def test_a_steady_push_writes_no_description_and_leaves_the_version(apps):
    one = apps[0].test_client()
    _, agent_id, token = _agent(apps[0], one)
    _push(one, agent_id, token, 0, "running")
    _push(one, agent_id, token, 1, "exited")

    def version():
        with apps[0].app_context(), db.engine.connect() as conn:
            return conn.execute(text("SELECT descriptions_version FROM agents")).scalar()
    changed = version()
    _push(one, agent_id, token, 2, "exited")
    assert changed == 2 and version() == changed  # its first push and its change bumped it; the steady one did not
