"""No token, key or password ever reaches a log line, and secrets are compared in constant time."""

import time

import requests

from conftest import PASSWORD
from kubewatch import credentials
from live_server import LiveServer

ADMIN = {"email": "ops@example.com", "password": "a long admin password"}


def test_a_whole_session_logs_no_secret(db_engine, tmp_path):
    server = LiveServer(tmp_path, ADMIN_EMAIL=ADMIN["email"], ADMIN_PASSWORD=ADMIN["password"],
                        AGENT_TOKEN_TTL=1, LOG_LEVEL="DEBUG").start()
    secrets = [ADMIN["password"]]
    try:
        url = server.url
        jwt = requests.post(url + "/api/v1/auth/login", json=ADMIN).json()["token"]
        admin = {"Authorization": f"Bearer {jwt}"}
        key = requests.post(url + "/api/v1/api-keys", json={"name": "rack"}, headers=admin).json()
        agent = requests.post(url + "/api/v1/agents/register", headers={"X-API-Key": key["key"]},
                              json={"name": "web", "hostname": "web-1"}).json()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # older than the raw tier would be refused
        pushed = requests.post(f"{url}/api/v1/agents/{agent['agentId']}/push",
                               headers={"Authorization": f"Bearer {agent['token']}"},
                               json={"timestamp": now, "containers": []})
        assert pushed.status_code == 200
        wrong_password = "not-the-password-" + "x" * 8
        for _ in range(12):  # enough to be throttled, which logs too
            requests.post(url + "/api/v1/auth/login", json={"email": ADMIN["email"], "password": wrong_password})
        wrong_key = "kw_live_" + "y" * 40
        requests.post(url + "/api/v1/agents/register", headers={"X-API-Key": wrong_key}, json={"name": "a", "hostname": "b"})
        requests.post(f"{url}/api/v1/agents/{agent['agentId']}/push", headers={"Authorization": "Bearer kwa_forged.token"},
                      json={"timestamp": now, "containers": []})
        requests.delete(f"{url}/api/v1/api-keys/{key['id']}", headers=admin)
        requests.delete(f"{url}/api/v1/agents/{agent['agentId']}", headers=admin)
        secrets += [jwt, key["key"], agent["token"], wrong_password, wrong_key, "kwa_forged.token"]
    finally:
        server.stop()
    logged = server.output()
    assert "failed for ops@example.com" in logged and "registered" in logged  # the events are logged
    for secret in secrets:
        assert secret not in logged
    # The first-start key is printed once, in the banner, and nowhere else.
    assert logged.count(server.first_run_key()) == 3  # the key line and the banner's two agent commands


def test_an_unknown_email_costs_a_password_hash_like_a_known_one(client, org, monkeypatch):
    checked = []
    real = credentials.check_password_hash
    monkeypatch.setattr(credentials, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    client.post("/api/v1/auth/login", json={"email": "nobody@acme.test", "password": PASSWORD})
    client.post("/api/v1/auth/login", json={"email": "admin@acme.test", "password": "wrong"})
    assert len(checked) == 2 and all(h.startswith("scrypt:") for h in checked)


def test_api_keys_are_looked_up_by_their_hash_only(app, org, monkeypatch):
    from kubewatch.repository import account_rows
    looked_up = []
    real = account_rows.api_key_by_hash
    monkeypatch.setattr(account_rows, "api_key_by_hash", lambda h: looked_up.append(h) or real(h))
    org.register()
    assert looked_up == [credentials.hash_api_key(org.api_key)]
