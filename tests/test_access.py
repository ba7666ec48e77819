"""The auth matrix: every endpoint against every wrong kind of credential."""

import time

import pytest
from itsdangerous import TimestampSigner

from conftest import bearer, sample_push
from kubewatch import tokens


def signed_long_ago(app, monkeypatch, sign, *args, age):
    """Return a token signed `age` seconds ago."""
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - age)
        with app.app_context():
            return sign(*args)


def tampered(token):
    return token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")


@pytest.fixture
def creds(app, monkeypatch, org, other_org):
    """Every kind of credential, named."""
    agent = org.register()
    sibling = org.register(name="sibling")
    foreign = other_org.register()
    with app.app_context():
        from kubewatch.repository import account_rows
        admin_id = account_rows.user_by_email("admin@acme.test")["id"]
    return {
        "agent": agent, "sibling": sibling, "foreign": foreign,
        "expired agent": signed_long_ago(app, monkeypatch, tokens.sign_agent_token, agent["agentId"], org.id, "key_any",
                                         age=app.config["AGENT_TOKEN_TTL"] + 1),
        "expired user": signed_long_ago(app, monkeypatch, tokens.sign_user_token, admin_id,
                                        age=app.config["USER_TOKEN_TTL"] + 1),
    }


def auth_headers(kind, org, creds):
    """Return the headers that carry the named credential."""
    return {
        "none": {},
        "agent token": bearer(creds["agent"]["token"]),
        "sibling agent token": bearer(creds["sibling"]["token"]),
        "other org agent token": bearer(creds["foreign"]["token"]),
        "tampered agent token": bearer(tampered(creds["agent"]["token"])),
        "expired agent token": bearer(creds["expired agent"]),
        "admin token": bearer(org.admin),
        "viewer token": bearer(org.viewer),
        "tampered user token": bearer(tampered(org.admin)),
        "expired user token": bearer(creds["expired user"]),
        "api key as bearer": bearer(org.api_key),
        "api key header": {"X-API-Key": org.api_key},
        "garbage bearer": bearer("not-a-token"),
        "basic auth": {"Authorization": "Basic YWRtaW46cGFzcw=="},
    }[kind]


def call(client, endpoint, creds, headers):
    agent_id = creds["agent"]["agentId"]
    if endpoint == "register":
        return client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"}, headers=headers)
    if endpoint == "push":
        return client.post(f"/api/v1/agents/{agent_id}/push", json=sample_push(), headers=headers)
    if endpoint == "list":
        return client.get("/api/v1/agents", headers=headers)
    if endpoint == "delete":
        return client.delete(f"/api/v1/agents/{agent_id}", headers=headers)
    if endpoint == "create key":
        return client.post("/api/v1/api-keys", json={"name": "k"}, headers=headers)
    if endpoint == "list keys":
        return client.get("/api/v1/api-keys", headers=headers)
    if endpoint == "revoke key":
        return client.delete("/api/v1/api-keys/key_0000000000000000", headers=headers)
    raise AssertionError(endpoint)


NOT_A_USER = ["none", "agent token", "tampered user token", "expired user token", "api key as bearer",
              "api key header", "garbage bearer", "basic auth"]
MATRIX = (
    [("register", kind, 401) for kind in ["none", "agent token", "admin token", "api key as bearer",
                                          "garbage bearer"]]
    + [("register", "api key header", 200)]
    + [("push", kind, 401) for kind in ["none", "tampered agent token", "expired agent token", "admin token",
                                        "viewer token", "api key as bearer", "api key header",
                                        "garbage bearer", "basic auth"]]
    + [("push", "sibling agent token", 403), ("push", "other org agent token", 403),
       ("push", "agent token", 200)]
    + [("list", kind, 401) for kind in NOT_A_USER]
    + [("list", "viewer token", 200), ("list", "admin token", 200)]
    + [("delete", kind, 401) for kind in NOT_A_USER]
    + [("delete", "viewer token", 403), ("delete", "admin token", 204)]
    + [(endpoint, kind, 401) for endpoint in ["create key", "list keys", "revoke key"] for kind in NOT_A_USER]
    + [(endpoint, "viewer token", 403) for endpoint in ["create key", "list keys", "revoke key"]]
    + [("create key", "admin token", 201), ("list keys", "admin token", 200), ("revoke key", "admin token", 404)]
)


@pytest.mark.parametrize("endpoint, kind, status", MATRIX, ids=[f"{e}-{k}" for e, k, _ in MATRIX])
def test_auth_matrix(client, org, creds, query, endpoint, kind, status):
    agents_before = query("SELECT COUNT(*) FROM agents")[0][0]
    response = call(client, endpoint, creds, auth_headers(kind, org, creds))
    assert response.status_code == status, response.json
    if status >= 400:
        assert response.content_type == "application/json"
        assert response.json["code"] == status and response.json["message"]
        assert query("SELECT COUNT(*) FROM pushes")[0][0] == 0
        assert query("SELECT COUNT(*) FROM agents")[0][0] == agents_before


def test_401_for_a_pushing_agent_says_to_register_again(client, org, creds):
    response = call(client, "push", creds, bearer(creds["expired agent"]))
    assert "register again" in response.json["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_key_cannot_register(client, org):
    key_id = client.get("/api/v1/api-keys", headers=bearer(org.admin)).json[0]["id"]
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=bearer(org.admin)).status_code == 204
    response = client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"},
                           headers={"X-API-Key": org.api_key})
    assert response.status_code == 401


def test_another_orgs_key_registers_into_that_org(org, other_org):
    registered = other_org.register(name="theirs")
    assert [a["id"] for a in other_org.agents().json] == [registered["agentId"]]
    assert org.agents().json == []


def test_a_deleted_users_token_is_401(client, app, org, query):
    token = org.viewer
    with app.app_context():
        from kubewatch.db import write
        from sqlalchemy import text
        with write() as conn:
            conn.execute(text("DELETE FROM users WHERE email = 'viewer@acme.test'"))
    assert client.get("/api/v1/agents", headers=bearer(token)).status_code == 401


def test_a_token_just_inside_its_lifetime_still_works(app, monkeypatch, org, client):
    agent = org.register()
    fresh = signed_long_ago(app, monkeypatch, tokens.sign_agent_token, agent["agentId"], org.id, "key_any",
                            age=app.config["AGENT_TOKEN_TTL"] - 5)
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", json=sample_push(), headers=bearer(fresh))
    assert response.status_code == 200
