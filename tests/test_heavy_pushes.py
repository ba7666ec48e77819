"""A push of a big body, on real waitress, takes a lane of its own and is loaded and checked before its turn to
store: the other agents' pushes are answered meanwhile. One agent's objects are rated per interval too."""

import threading

import pytest
import requests

from conftest import Org, bearer, container, fresh_config, sample_push
from kubewatch import create_app, ingest, plausible, sign_in_lane
from kubewatch.db import db
from polling import wait_until
from test_sign_in_lane import serving  # noqa: F401 (a fixture)

TS = "2026-06-16T10:00:00Z"


def big_push(count, timestamp=TS):
    return sample_push(timestamp, [container(f"{n:012x}", f"big-{n}") for n in range(count)])


def test_a_big_push_waits_in_its_own_lane_and_out_of_the_one_push_lock_while_others_push(db_engine, serving, monkeypatch):
    app, url = serving
    org = Org(app, app.test_client(), "acme")
    big, small = org.register(name="big"), org.register(name="small")
    body = big_push(1000)
    release, held = threading.Event(), []
    real = plausible.leave_out_impossible

    def checking(loaded):  # the big push, loaded, is held while its figures are checked
        if len(loaded.containers) == 1000:
            held.append((threading.current_thread().name, ingest.ONE_PUSH_AT_A_TIME.locked()))
            release.wait(20)
        return real(loaded)

    monkeypatch.setattr(ingest, "leave_out_impossible", checking)
    answer = []
    pushing = threading.Thread(target=lambda: answer.append(requests.post(
        f"{url}/api/v1/agents/{big['agentId']}/push", json=body, headers=bearer(big["token"]), timeout=30)))
    pushing.start()
    try:
        wait_until(lambda: held, "the big push to be checked", 10)
        for second in range(5):  # the only thread of the others is free, and so is the one-push lock
            pushed = requests.post(f"{url}/api/v1/agents/{small['agentId']}/push", headers=bearer(small["token"]),
                                   json=sample_push(f"2026-06-16T10:00:0{second}Z"), timeout=10)
            assert pushed.status_code == 200
    finally:
        release.set()
        pushing.join()
    assert answer[0].status_code == 200 and answer[0].json() == {"ok": True}
    [(thread, locked)] = held
    assert thread.startswith("kubewatch-heavy-push-") and not locked
    listed = org.client.get(f"/api/v1/agents/{big['agentId']}/containers", headers=bearer(org.viewer)).json
    assert len(listed) == 1000


def test_a_big_push_retried_with_other_samples_changes_nothing(client):
    org = Org(client.application, client, "acme")
    agent = org.register()
    first = big_push(1000)
    assert len(str(first)) > ingest.HEAVY_PUSH_BYTES
    assert org.push(agent, first).status_code == 200
    shown = org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer)).json
    retried = big_push(1000)
    for item in retried["containers"]:
        item["cpuPercent"], item["status"] = 99.0, "exited"
    assert org.push(agent, retried).status_code == 200
    assert org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer)).json == shown


@pytest.mark.parametrize("method, path, length", [
    ("POST", "/api/v1/agents/agent_1/push", ingest.HEAVY_PUSH_BYTES + 1),
    ("POST", "/kubewatch/api/v1/agents/agent_1/push", 2**20)])
def test_a_push_past_the_heavy_size_takes_the_heavy_lane(method, path, length):
    assert sign_in_lane.is_heavy_push(method, path, length)


@pytest.mark.parametrize("method, path, length", [
    ("POST", "/api/v1/agents/agent_1/push", ingest.HEAVY_PUSH_BYTES), ("POST", "/api/v1/agents/register", 2**20),
    ("PUT", "/api/v1/agents/agent_1/push", 2**20), ("POST", "/api/v1/agents/agent_1/push/x", 2**20)])
def test_every_other_request_stays_in_its_lane(method, path, length):
    assert not sign_in_lane.is_heavy_push(method, path, length)


@pytest.fixture
def rated(db_engine):
    app = create_app(fresh_config(OBJECTS_PER_INTERVAL=2500, PUSH_INTERVAL_SECONDS=15))
    yield app, Org(app, app.test_client(), "acme")
    with app.app_context():
        db.engine.dispose()


def test_objects_past_the_rate_are_429_with_retry_after_unread_and_other_agents_push_on(rated, monkeypatch):
    app, org = rated
    now = [1000.0]
    monkeypatch.setattr(app.extensions["kubewatch.push_limits"][0], "clock", lambda: now[0])
    agent, other = org.register(), org.register(name="other")
    # 2,500 objects an interval: a push is taken while any are left, and spends what it holds.
    assert org.push(agent, big_push(1000, "2026-06-16T10:00:00Z")).status_code == 200
    assert org.push(agent, big_push(1000, "2026-06-16T10:00:01Z")).status_code == 200
    assert org.push(agent, big_push(1000, "2026-06-16T10:00:02Z")).status_code == 200  # 500 owed now
    loads = []
    monkeypatch.setattr(ingest, "check_push", lambda *args: loads.append(args))
    refused = org.push(agent, big_push(10, "2026-06-16T10:00:03Z"))
    assert refused.status_code == 429 and not loads  # refused before its body was read
    assert refused.headers["Retry-After"] == "3"  # 500 objects back at 2,500 / 15 s
    assert "More than 2500 containers, nodes and pods in 15 s" in refused.json["message"]
    assert "objects_per_interval" in refused.json["message"]
    monkeypatch.undo()
    monkeypatch.setattr(app.extensions["kubewatch.push_limits"][0], "clock", lambda: now[0])
    assert org.push(other, big_push(1000)).status_code == 200
    now[0] += 3
    assert org.push(agent, big_push(10, "2026-06-16T10:00:03Z")).status_code == 200
    with app.app_context(), db.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT agent_id, ts FROM pushes ORDER BY ts, agent_id").all()
    assert len(stored) == 5


def test_the_default_lets_an_agent_at_the_push_limit_push_every_interval(app):
    config = app.config
    assert config["OBJECTS_PER_INTERVAL"] >= 2 * config["MAX_OBJECTS_PER_PUSH"]  # and a retry, or a backlog at 2x
    assert config["OBJECTS_PER_INTERVAL"] < config["PUSHES_PER_INTERVAL"] * config["MAX_OBJECTS_PER_PUSH"]
