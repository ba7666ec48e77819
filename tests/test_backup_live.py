"""A backup taken with `flask backup` while a live server takes pushes restores into a fresh server exactly."""

import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest
import requests

import engines
from live_server import ROOT, LiveServer
from polling import wait_until

pytestmark = [pytest.mark.slow, engines.sqlite_only("`flask backup` of a live SQLite file")]  # two servers, a load and a backup: about half a minute

ADMIN = {"email": "ops@example.com", "password": "a long admin password"}


def iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def push(session, url, agent, ts, cpu):
    return session.post(f"{url}/api/v1/agents/{agent['agentId']}/push",
                        headers={"Authorization": f"Bearer {agent['token']}"},
                        json={"timestamp": iso(ts), "nodes": [], "pods": [], "containers": [
                            {"id": "c0ffee000001", "name": "web", "image": "nginx:1.27", "status": "running",
                             "cpuPercent": cpu, "memoryMB": 100 + cpu, "networkRxBytes": int(ts), "restartCount": 0}]})


class Load(threading.Thread):
    """Push as fast as the server answers, one second of agent time apart; remember each acknowledged timestamp."""

    def __init__(self, url, agent, first_ts):
        super().__init__(daemon=True)
        self.url, self.agent, self.next_ts = url, agent, first_ts
        self.acknowledged, self.refused, self.stop = [], [], threading.Event()

    def run(self):
        with requests.Session() as session:
            while not self.stop.is_set():
                answer = push(session, self.url, self.agent, self.next_ts, self.next_ts % 100 / 4)
                (self.acknowledged if answer.status_code == 200 else self.refused).append(self.next_ts)
                self.next_ts += 1

    def wait_for(self, count):
        wait_until(lambda: len(self.acknowledged) >= count, f"{count} acknowledged pushes", 120, every=0.05,
                   alive=self.is_alive)


def answers(url, token, agent_id, start, end):
    """Return what a user reads of an agent: its detail (status aside), its containers and a container's series."""
    headers = {"Authorization": f"Bearer {token}"}
    detail = requests.get(f"{url}/api/v1/agents/{agent_id}", headers=headers).json()
    detail.pop("status")
    containers = requests.get(f"{url}/api/v1/agents/{agent_id}/containers", headers=headers).json()
    series = requests.get(f"{url}/api/v1/agents/{agent_id}/containers/c0ffee000001/metrics",
                          params={"from": iso(start), "to": iso(end)}, headers=headers).json()
    return detail, containers, series


def login(url):
    return requests.post(url + "/api/v1/auth/login", json=ADMIN).json()["token"]


def test_a_backup_under_push_load_restores_into_a_fresh_server_with_the_same_answers(db_engine, tmp_path):
    original = LiveServer(tmp_path / "original", ADMIN_EMAIL=ADMIN["email"], ADMIN_PASSWORD=ADMIN["password"],
                          ROLLUP_INTERVAL=0).start()
    try:
        key = original.first_run_key()
        register = lambda name: requests.post(original.url + "/api/v1/agents/register", headers={"X-API-Key": key},
                                              json={"name": name, "hostname": f"{name}.lan"}).json()
        steady, busy = register("steady"), register("busy")
        start = int(time.time()) - 3000
        with requests.Session() as session:
            for i in range(40):
                assert push(session, original.url, steady, start + 15 * i, i).status_code == 200
        token = login(original.url)
        steady_before = answers(original.url, token, steady["agentId"], start - 60, start + 3000)
        assert len(steady_before[2]["points"]) == 40

        load = Load(original.url, busy, start)
        load.start()
        load.wait_for(30)
        before_backup = len(load.acknowledged)
        command = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "backup", str(tmp_path / "copy.db")],
                                 cwd=ROOT, env=original.env, capture_output=True, text=True, timeout=120)
        after_backup = len(load.acknowledged)
        assert command.returncode == 0, command.stderr
        assert "integrity check ok" in command.stdout
        load.wait_for(after_backup + 30)
        load.stop.set()
        load.join()
        assert load.refused == []  # not one push was refused while the backup ran
        assert after_backup > before_backup  # pushes went on being stored while the backup ran
        busy_after = answers(original.url, token, busy["agentId"], start - 60, start + 3000)
    finally:
        original.stop()

    restored = LiveServer(tmp_path / "restored", ROLLUP_INTERVAL=0)
    shutil.copy(tmp_path / "copy.db", restored.db_path)  # restore: stop, replace the file, start
    restored.start()
    try:
        token = login(restored.url)
        assert answers(restored.url, token, steady["agentId"], start - 60, start + 3000) == steady_before
        detail, containers, series = answers(restored.url, token, busy["agentId"], start - 60, start + 3000)
        kept = [point["t"] for point in series["points"]]
        # A moment of the database: every push acknowledged before the backup, none after it, no gap.
        assert before_backup <= len(kept) <= after_backup
        assert kept == [point["t"] for point in busy_after[2]["points"]][:len(kept)]
        assert series["points"] == busy_after[2]["points"][:len(kept)]
        assert detail["lastSeen"] is not None and containers[0]["name"] == "web"
    finally:
        restored.stop()
