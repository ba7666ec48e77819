"""Answers are never cached (they carry tokens, keys, passwords, an organization's data); every 401 says how to sign in."""

import pytest

from conftest import PASSWORD, bearer, sample_push


def test_answers_carrying_a_secret_are_no_store(client, org):
    login = client.post("/api/v1/auth/login", json={"email": "admin@acme.test", "password": PASSWORD})
    registered = client.post("/api/v1/agents/register", json={"name": "a", "hostname": "h"},
                             headers={"X-API-Key": org.api_key})
    key = client.post("/api/v1/api-keys", json={"name": "k"}, headers=bearer(org.admin))
    for response in (login, registered, key):
        assert response.status_code in (200, 201)
        assert response.headers["Cache-Control"] == "no-store"


def test_reads_errors_and_pushes_are_no_store_too(client, org):
    agent = org.register()
    for response in (org.push(agent, sample_push()), org.agents(), client.get("/api/v1/agents"),
                     client.post("/api/v1/auth/login", json={"email": "x@y.z", "password": "no"})):
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method, path, headers, challenge", [
    ("post", "/api/v1/auth/login", {}, "Bearer"),
    ("get", "/api/v1/agents", {}, "Bearer"),
    ("get", "/api/v1/agents", {"Authorization": "Bearer kwu_forged"}, "Bearer"),
    ("get", "/api/v1/api-keys", {"Authorization": "Basic eDp5"}, "Bearer"),
    ("post", "/api/v1/agents/register", {}, "ApiKey"),
    ("post", "/api/v1/agents/register", {"X-API-Key": "kw_live_wrong"}, "ApiKey"),
    ("post", "/api/v1/agents/agent_00000000/push", {}, "Bearer"),
    ("post", "/api/v1/agents/agent_00000000/push", {"Authorization": "Bearer kwa_forged"}, "Bearer"),
])
def test_every_401_carries_www_authenticate(client, org, method, path, headers, challenge):
    body = {"email": "admin@acme.test", "password": "wrong"} if path.endswith("login") else sample_push()
    if path.endswith("register"):
        body = {"name": "a", "hostname": "h"}
    response = getattr(client, method)(path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].split()[0] == challenge


def test_a_push_of_a_deleted_agent_is_401_with_www_authenticate(client, org):
    agent = org.register()
    client.delete(f"/api/v1/agents/{agent['agentId']}", headers=bearer(org.admin))
    response = org.push(agent, sample_push())
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
