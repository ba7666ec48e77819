"""Revoking an API key stops its agents on their next push: they get 401, register again, and are refused."""


import engines
from conftest import TEST_CONFIG, Org, bearer, sample_push
from kubewatch import create_app, revocations
from kubewatch.db import db


def revoke(client, org, key_id):
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=bearer(org.admin)).status_code == 204


def key_id_of(client, org):
    return client.get("/api/v1/api-keys", headers=bearer(org.admin)).json[0]["id"]


def test_the_next_push_after_revocation_is_401_and_registering_again_is_refused(client, org):
    agent = org.register()
    assert org.push(agent, sample_push("2026-06-16T10:00:00Z")).status_code == 200
    revoke(client, org, key_id_of(client, org))
    refused = org.push(agent, sample_push("2026-06-16T10:00:15Z"))
    assert refused.status_code == 401 and "register again" in refused.json["message"]
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    again = client.post("/api/v1/agents/register", json={"name": "prod-web", "hostname": "prod-web-01"},
                        headers={"X-API-Key": org.api_key})
    assert again.status_code == 401
    assert again.json["message"] == "A valid X-API-Key header is required: this key is missing, unknown or revoked."


def test_agents_of_other_keys_push_on(client, org, other_org):
    first = org.register()
    second_key = client.post("/api/v1/api-keys", json={"name": "second"}, headers=bearer(org.admin)).json
    second = client.post("/api/v1/agents/register", json={"name": "b", "hostname": "h"},
                         headers={"X-API-Key": second_key["key"]}).json
    foreign = other_org.register()
    revoke(client, org, [k for k in client.get("/api/v1/api-keys", headers=bearer(org.admin)).json
                         if k["id"] != second_key["id"]][0]["id"])
    assert org.push(first, sample_push()).status_code == 401
    assert org.push(second, sample_push()).status_code == 200
    assert other_org.push(foreign, sample_push()).status_code == 200


def test_a_revocation_by_another_server_process_counts_within_a_second(db_engine, tmp_path, monkeypatch):
    url = engines.file_url(tmp_path / 'shared.db')
    apps = [create_app(dict(TEST_CONFIG, DATABASE_URL=url)) for _ in range(2)]
    try:
        org = Org(apps[0], apps[0].test_client(), "acme")
        agent = org.register()
        pusher = apps[1].test_client()
        now = [100.0]
        monkeypatch.setattr(apps[1].extensions["kubewatch.revoked_keys"], "clock", lambda: now[0])

        def push(second):
            return pusher.post(f"/api/v1/agents/{agent['agentId']}/push", headers=bearer(agent["token"]),
                               json=sample_push(f"2026-06-16T10:00:{second:02d}Z")).status_code
        assert push(0) == 200
        revoke(org.client, org, key_id_of(org.client, org))  # through the first process
        now[0] += revocations.REFRESH_SECONDS
        assert push(1) == 401
    finally:
        for app in apps:
            with app.app_context():
                db.engine.dispose()


def test_without_revocations_a_push_reads_the_generation_at_most_once_a_second(app, org, monkeypatch):
    """On SQLite (one server process); on a database several processes share, every push reads it."""
    from sqlalchemy.engine import make_url
    from kubewatch.repository import account_rows
    once = make_url(app.config["DATABASE_URL"]).get_backend_name() == "sqlite"
    reads = []
    real = account_rows.revocation_generation
    monkeypatch.setattr(account_rows, "revocation_generation", lambda: reads.append(1) or real())
    revoked = app.extensions["kubewatch.revoked_keys"]
    now = [500.0]
    monkeypatch.setattr(revoked, "clock", lambda: now[0])
    agent = org.register()
    for second in range(50):
        assert org.push(agent, sample_push(f"2026-06-16T10:00:{second:02d}Z")).status_code == 200
    assert len(reads) == (1 if once else 50)
    now[0] += revocations.REFRESH_SECONDS
    org.push(agent, sample_push("2026-06-16T10:01:00Z"))
    assert len(reads) == (2 if once else 51)


def test_an_agent_refused_after_revocation_pushes_again_once_registered_with_a_new_key(client, org):
    agent = org.register()
    revoke(client, org, key_id_of(client, org))
    assert org.push(agent, sample_push("2026-06-16T10:00:00Z")).status_code == 401
    new_key = client.post("/api/v1/api-keys", json={"name": "new"}, headers=bearer(org.admin)).json["key"]
    again = client.post("/api/v1/agents/register", json={"name": "prod-web", "hostname": "prod-web-01"},
                        headers={"X-API-Key": new_key}).json
    assert again["agentId"] == agent["agentId"]  # the same agent, known by name
    assert org.push(again, sample_push("2026-06-16T10:00:15Z")).status_code == 200


def test_a_token_that_names_no_key_is_401_and_its_agent_registers_again(app, client, org):
    from kubewatch import tokens
    agent = org.register()
    with app.app_context():
        unnamed = tokens._sign(tokens.AGENT_PREFIX, {"a": agent["agentId"], "o": org.id})  # as schema 7 signed them
    refused = client.post(f"/api/v1/agents/{agent['agentId']}/push", json=sample_push(), headers=bearer(unnamed))
    assert refused.status_code == 401 and "register again" in refused.json["message"]
