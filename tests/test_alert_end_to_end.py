"""Alerting on the real server (waitress, 1 s push interval, ALERT_INTERVAL=1) over HTTP, restarted mid-alert."""

import signal
import time

import pytest
import requests

from alerting_world import Receiver
from live_server import LiveServer
from polling import wait_until

ADMIN = {"email": "ops@example.com", "password": "a long admin password"}


def stamp(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.stop()


@pytest.mark.slow
def test_a_stop_fires_once_and_resolves_once_across_a_server_restart(db_engine, tmp_path, receiver):
    server = LiveServer(tmp_path, ADMIN_EMAIL=ADMIN["email"], ADMIN_PASSWORD=ADMIN["password"],
                        PUSH_INTERVAL_SECONDS=1, ALERT_INTERVAL=1, ROLLUP_INTERVAL=0).start()
    try:
        key = server.first_run_key()
        user = {"Authorization": "Bearer " + requests.post(server.url + "/api/v1/auth/login", json=ADMIN).json()["token"]}
        channel = requests.post(server.url + "/api/v1/notification-channels", headers=user,
                                json={"name": "hook", "url": receiver.url("hook")}).json()["id"]
        for kind in ("container_stopped", "agent_down"):
            created = requests.post(server.url + "/api/v1/alert-rules", headers=user,
                                    json={"name": kind, "kind": kind, "channels": [channel]})
            assert created.status_code == 201, created.text
        agent = requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": key},
                              json={"name": "prod-web", "hostname": "prod-web-01"}).json()

        def push(status, **fields):
            body = {"timestamp": stamp(time.time()), "containers": [
                {"id": "c1", "name": "postgres-main", "status": status, "restartCount": 0, **fields}]}
            answer = requests.post(f"{server.url}/api/v1/agents/{agent['agentId']}/push", json=body,
                                   headers={"Authorization": f"Bearer {agent['token']}"})
            assert answer.status_code == 200, answer.text

        push("running")
        time.sleep(1.5)  # the evaluator sees it running
        push("exited", exitCode=137, oomKilled=True)
        fired = wait_until(lambda: receiver.messages("hook"), "the firing message")
        assert fired[0]["title"] == "[kubewatch] FIRING: container_stopped: postgres-main on prod-web"
        assert fired[0]["message"].startswith("postgres-main exited with code 137 (killed: out of memory)")

        # Killed once the delivery is recorded: killed between sending and recording, it would be sent
        # again after the restart (at least once, never zero times), which another test covers.
        wait_until(lambda: requests.get(server.url + "/api/v1/notification-channels",
                                        headers=user).json()[0]["lastDeliveredAt"], "the delivery recorded")
        server.stop(signal.SIGKILL)  # mid-alert, without warning
        server.start()
        push("exited", exitCode=137, oomKilled=True)
        time.sleep(2.5)  # two evaluations of the new process: nothing more to send
        assert len(receiver.messages("hook")) == 1
        push("running")
        wait_until(lambda: len(receiver.messages("hook")) == 2, "the resolved message")
        assert receiver.titles("hook")[1] == "[kubewatch] RESOLVED: container_stopped: postgres-main on prod-web"

        # silence from the agent: disconnected after three 1-second intervals, back with its next push
        wait_until(lambda: len(receiver.messages("hook")) == 3, "agent_down firing")
        assert receiver.titles("hook")[2] == "[kubewatch] FIRING: agent_down: prod-web"
        push("running")
        wait_until(lambda: len(receiver.messages("hook")) == 4, "agent_down resolved")
        assert receiver.titles("hook")[3] == "[kubewatch] RESOLVED: agent_down: prod-web"
        alerts = requests.get(server.url + "/api/v1/alerts?state=resolved", headers=user).json()
        assert sorted(a["kind"] for a in alerts) == ["agent_down", "container_stopped"]
        channels = requests.get(server.url + "/api/v1/notification-channels", headers=user).json()
        assert channels[0]["lastDeliveredAt"] is not None and channels[0]["lastError"] is None
    finally:
        server.stop()
