"""API keys: created by admins, shown once, stored hashed, listed by prefix, revoked."""

import hashlib
import re

from conftest import bearer


def create(client, org, name="ci"):
    return client.post("/api/v1/api-keys", json={"name": name}, headers=bearer(org.admin))


def test_a_created_key_is_shown_once_and_stored_only_as_its_hash(client, org, query):
    response = create(client, org)
    assert response.status_code == 201
    key = response.json["key"]
    assert re.fullmatch(r"kw_live_[A-Za-z0-9_-]{32,}", key)
    assert key.startswith(response.json["prefix"]) and len(response.json["prefix"]) < 16
    stored = [tuple(r) for r in query("SELECT key_hash, prefix FROM api_keys WHERE id = :id", id=response.json["id"])]
    assert stored == [(hashlib.sha256(key.encode()).hexdigest(), response.json["prefix"])]
    assert not any(key in str(value) for row in query("SELECT * FROM api_keys") for value in row)


def test_a_created_key_registers_agents(client, org):
    key = create(client, org).json["key"]
    response = client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"}, headers={"X-API-Key": key})
    assert response.status_code == 200


def test_listing_shows_prefixes_never_keys(client, org):
    created = create(client, org, "second").json
    listed = client.get("/api/v1/api-keys", headers=bearer(org.admin)).json
    assert sorted(k["name"] for k in listed) == ["second", "test"]
    assert all("key" not in k for k in listed)
    assert created["prefix"] in [k["prefix"] for k in listed]
    assert all(set(k) == {"id", "name", "prefix", "scope", "createdAt", "revokedAt", "lastUsedAt"} for k in listed)


def test_revoking_marks_the_key_and_keeps_others_working(client, org):
    first = create(client, org, "first").json
    second = create(client, org, "second").json
    assert client.delete(f"/api/v1/api-keys/{first['id']}", headers=bearer(org.admin)).status_code == 204
    listed = {k["id"]: k for k in client.get("/api/v1/api-keys", headers=bearer(org.admin)).json}
    assert listed[first["id"]]["revokedAt"].endswith("Z")
    assert listed[second["id"]]["revokedAt"] is None
    register = lambda key: client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"},
                                       headers={"X-API-Key": key}).status_code
    assert (register(first["key"]), register(second["key"])) == (401, 200)


def test_an_agents_token_stops_on_its_next_push_after_revocation(client, org):
    agent = org.register()
    assert org.push(agent).status_code == 200
    key_id = client.get("/api/v1/api-keys", headers=bearer(org.admin)).json[0]["id"]
    client.delete(f"/api/v1/api-keys/{key_id}", headers=bearer(org.admin))
    assert org.push(agent).status_code == 401  # tests/test_revocation.py has the rest


def test_another_orgs_key_cannot_be_seen_or_revoked(client, org, other_org):
    theirs = create(client, other_org).json
    assert theirs["id"] not in [k["id"] for k in client.get("/api/v1/api-keys", headers=bearer(org.admin)).json]
    assert client.delete(f"/api/v1/api-keys/{theirs['id']}", headers=bearer(org.admin)).status_code == 404
    response = client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"},
                           headers={"X-API-Key": theirs["key"]})
    assert response.status_code == 200


def test_a_key_name_too_long_is_400(client, org):
    response = create(client, org, "x" * 101)
    assert response.status_code == 400
    assert "name" in response.json["errors"]["json"]


def test_a_null_key_name_is_400_not_a_crash(client, org):
    response = client.post("/api/v1/api-keys", json={"name": None}, headers=bearer(org.admin))
    assert response.status_code == 400
    assert "name" in response.json["errors"]["json"]


def test_a_key_without_a_name_gets_an_empty_one(client, org):
    response = client.post("/api/v1/api-keys", json={}, headers=bearer(org.admin))
    assert (response.status_code, response.json["name"]) == (201, "")
