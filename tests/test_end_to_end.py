"""The documented curl flow against the real server over HTTP."""

import json
import time

import pytest
import requests

from live_server import LiveServer

ADMIN = {"email": "ops@example.com", "password": "a long admin password"}


def stamp(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@pytest.fixture
def server(db_engine, tmp_path):
    live = LiveServer(tmp_path, ADMIN_EMAIL=ADMIN["email"], ADMIN_PASSWORD=ADMIN["password"]).start()
    yield live
    live.stop()


def test_documented_flow_over_http(server):
    key = server.first_run_key()
    assert ADMIN["password"] not in server.output()

    registered = requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": key}, json={
        "name": "prod-web", "version": "1.4.2", "platform": "docker", "hostname": "prod-web-01"}).json()
    assert registered["agentId"].startswith("agent_") and registered["tokenExpiresIn"] == 3600

    # The server keeps raw samples for 48 h and refuses older pushes: the agent pushes what it just measured.
    now = int(time.time())
    pushed = requests.post(f"{server.url}/api/v1/agents/{registered['agentId']}/push",
                           headers={"Authorization": f"Bearer {registered['token']}"}, json={
        "timestamp": stamp(now),
        "containers": [{"id": "a1b2c3d4e5f6", "name": "nginx-prod", "image": "nginx:1.25", "status": "running",
                        "cpuPercent": 12.4, "memoryMB": 48, "memoryLimitMB": 512, "networkRxBytes": 10240,
                        "networkTxBytes": 8192, "restartCount": 0}],
        "nodes": [], "pods": []})
    assert (pushed.status_code, pushed.json()) == (200, {"ok": True})

    jwt = requests.post(server.url + "/api/v1/auth/login", json=ADMIN).json()["token"]
    listed = requests.get(server.url + "/api/v1/agents", headers={"Authorization": f"Bearer {jwt}"})
    assert listed.status_code == 200
    [agent] = listed.json()
    assert agent["id"] == registered["agentId"]
    assert (agent["status"], agent["containerCount"], agent["name"]) == ("connected", 1, "prod-web")

    series = requests.get(f"{server.url}/api/v1/agents/{registered['agentId']}/containers/a1b2c3d4e5f6/metrics",
                          params={"from": stamp(now - 60), "to": stamp(now)}, headers={"Authorization": f"Bearer {jwt}"})
    assert series.status_code == 200
    assert series.json() == {"resolution": "raw", "step": None, "points": [{
        "t": stamp(now), "cpuPercent": 12.4, "memoryMB": 48, "memoryLimitMB": 512, "networkRxBytesPerSec": None,
        "networkTxBytesPerSec": None, "restartCount": 0}]}

    deleted = requests.delete(f"{server.url}/api/v1/agents/{registered['agentId']}",
                              headers={"Authorization": f"Bearer {jwt}"})
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert requests.get(server.url + "/api/v1/agents", headers={"Authorization": f"Bearer {jwt}"}).json() == []


def test_a_restart_keeps_data_and_tokens_and_prints_no_second_banner(server):
    key = server.first_run_key()
    registered = requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": key},
                               json={"name": "n", "hostname": "h"}).json()
    server.stop()
    server.start()
    assert server.output().count("first start") == 1
    pushed = requests.post(f"{server.url}/api/v1/agents/{registered['agentId']}/push",
                           headers={"Authorization": f"Bearer {registered['token']}"},
                           json={"timestamp": stamp(int(time.time())), "containers": []})
    assert pushed.status_code == 200


def test_errors_over_http_are_json(server):
    response = requests.post(server.url + "/api/v1/agents/register", data="{", headers={
        "X-API-Key": server.first_run_key(), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == 400


def test_pushes_typed_json_or_vendor_json_or_sent_chunked_are_answered_alike_and_stored_over_http(server):
    registered = requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": server.first_run_key()},
                               json={"name": "web", "hostname": "web-01"}).json()
    url = f"{server.url}/api/v1/agents/{registered['agentId']}/push"
    auth = {"Authorization": f"Bearer {registered['token']}"}
    now = int(time.time())

    def body(ts):
        return json.dumps({"timestamp": stamp(ts), "containers": [{"id": "c1", "name": "web"}]}).encode()

    by_shortcut = requests.post(url, data=body(now - 2), headers={**auth, "Content-Type": "application/json"})
    by_flask = requests.post(url, data=body(now - 1),  # a type the shortcut leaves to Flask
                             headers={**auth, "Content-Type": "application/vnd.kubewatch+json"})
    chunked = requests.post(url, data=iter([body(now)[:20], body(now)[20:]]),  # sent chunked
                            headers={**auth, "Content-Type": "application/json"})
    for response in (by_shortcut, by_flask, chunked):
        assert (response.status_code, response.json()) == (200, {"ok": True})
    assert ({k: v for k, v in by_shortcut.headers.items() if k != "Date"}
            == {k: v for k, v in by_flask.headers.items() if k != "Date"})
    server.stop()
    assert server.rows("SELECT ts FROM pushes ORDER BY ts") == [(now - 2,), (now - 1,), (now,)]
