"""Read-only API keys: kw_read_ keys read what a viewer reads and change nothing."""

import re

import pytest

from conftest import bearer, sample_push


def create(client, org, **body):
    return client.post("/api/v1/api-keys", json={"name": "scraper", **body}, headers=bearer(org.admin))


@pytest.fixture
def read_key(client, org):
    response = create(client, org, scope="read")
    assert response.status_code == 201, response.json
    return response.json


def test_a_read_key_is_kw_read_and_43_characters_and_listed_with_its_scope(client, org, read_key):
    assert re.fullmatch(r"kw_read_[A-Za-z0-9_-]{43}", read_key["key"])
    assert read_key["scope"] == "read" and read_key["key"].startswith(read_key["prefix"])
    listed = {k["id"]: k["scope"] for k in client.get("/api/v1/api-keys", headers=bearer(org.admin)).json}
    assert listed[read_key["id"]] == "read"
    assert sorted(listed.values()) == ["ingest", "read"]


def test_a_key_is_an_ingest_key_unless_read_is_asked_for(client, org):
    created = create(client, org).json
    assert created["scope"] == "ingest" and created["key"].startswith("kw_live_")


@pytest.mark.parametrize("scope", ["write", "admin", "", "READ", 1, None])
def test_an_unknown_scope_is_a_400_and_creates_nothing(client, org, scope):
    before = len(client.get("/api/v1/api-keys", headers=bearer(org.admin)).json)
    response = create(client, org, scope=scope)
    assert response.status_code == 400
    assert "scope" in response.json["errors"]["json"]
    assert len(client.get("/api/v1/api-keys", headers=bearer(org.admin)).json) == before


def test_a_read_key_reads_the_agents_containers_and_series_as_a_viewer_does(client, org, read_key):
    agent = org.register()
    assert org.push(agent, sample_push()).status_code == 200
    base = f"/api/v1/agents/{agent['agentId']}"
    for path in ("/api/v1/agents", base, base + "/containers", base + "/containers/a1b2c3d4e5f6/metrics?range=1h",
                 base + "/nodes", base + "/pods"):
        as_reader = client.get(path, headers=bearer(read_key["key"]))
        assert as_reader.status_code == 200, (path, as_reader.json)
        assert as_reader.json == client.get(path, headers=bearer(org.viewer)).json


def test_a_read_key_cannot_register_an_agent(client, org, read_key):
    response = client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"},
                           headers={"X-API-Key": read_key["key"]})
    assert response.status_code == 403
    assert "read-only" in response.json["message"]
    assert client.get("/api/v1/agents", headers=bearer(org.viewer)).json == []


def test_a_read_key_changes_nothing(client, org, read_key):
    agent = org.register()
    headers = bearer(read_key["key"])
    attempts = [
        client.delete(f"/api/v1/agents/{agent['agentId']}", headers=headers),
        client.post("/api/v1/api-keys", json={"name": "x"}, headers=headers),
        client.delete(f"/api/v1/api-keys/{read_key['id']}", headers=headers),
        client.get("/api/v1/api-keys", headers=headers),  # admins only, even to read
    ]
    assert [response.status_code for response in attempts] == [403] * 4
    assert len(client.get("/api/v1/agents", headers=bearer(org.viewer)).json) == 1
    listed = client.get("/api/v1/api-keys", headers=bearer(org.admin)).json
    assert len(listed) == 2 and all(key["revokedAt"] is None for key in listed)


def test_a_read_key_cannot_push(client, org, read_key):
    agent = org.register()
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", json=sample_push(),
                           headers=bearer(read_key["key"]))
    assert response.status_code == 401


def test_a_revoked_read_key_reads_nothing(client, org, read_key):
    assert client.delete(f"/api/v1/api-keys/{read_key['id']}", headers=bearer(org.admin)).status_code == 204
    assert client.get("/api/v1/agents", headers=bearer(read_key["key"])).status_code == 401


def test_an_ingest_key_is_not_a_credential_for_reading(client, org):
    assert client.get("/api/v1/agents", headers=bearer(org.api_key)).status_code == 401


def test_a_read_key_reads_only_its_own_organization(client, org, other_org, read_key):
    theirs = other_org.register()
    other_org.push(theirs, sample_push())
    headers = bearer(read_key["key"])
    assert client.get("/api/v1/agents", headers=headers).json == []
    assert client.get(f"/api/v1/agents/{theirs['agentId']}", headers=headers).status_code == 404


def test_flask_create_api_key_makes_a_read_key_with_scope_read(app, runner, org, client):
    result = runner.invoke(args=["create-api-key", "--org", "acme", "--scope", "read"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert re.fullmatch(r"kw_read_[A-Za-z0-9_-]{43}", key)
    assert client.get("/api/v1/agents", headers=bearer(key)).status_code == 200
    assert runner.invoke(args=["create-api-key", "--org", "acme", "--scope", "write"]).exit_code != 0
