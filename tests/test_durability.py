"""Against the real server process: load without loss, a crash without loss, database trouble."""

import os
import signal
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import engines
from live_server import LiveServer
from stored import unpacked

pytestmark = engines.sqlite_only("crashes and a full disk on SQLite files")

ADMIN = {"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "a long admin password"}
# Agents push one second apart from here: well inside the raw tier the server keeps (48 h), and not ahead of it.
START = int(time.time()) - 40 * 3600


def stamp(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def body(ts, containers):
    return {"timestamp": stamp(ts), "containers": [
        {"id": f"c{i:03d}", "name": f"svc-{i}", "cpuPercent": i * 1.5, "memoryMB": 64 + i, "memoryLimitMB": 512,
         "networkRxBytes": ts * 10 + i, "networkTxBytes": ts * 5 + i, "restartCount": 0} for i in range(containers)]}


class PushingAgent:
    """An agent that registers and pushes back to back, remembering what the server acknowledged."""

    def __init__(self, server, name, containers):
        self.server, self.name, self.containers = server, name, containers
        self.session = requests.Session()
        self.acknowledged, self.failures, self.next_ts = [], [], START
        self.register()

    def register(self):
        answer = self.session.post(self.server.url + "/api/v1/agents/register",
                                   headers={"X-API-Key": self.server.first_run_key()},
                                   json={"name": self.name, "hostname": "load-host"}, timeout=30)
        answer.raise_for_status()
        self.agent_id, self.token = answer.json()["agentId"], answer.json()["token"]

    def push_once(self):
        ts, self.next_ts = self.next_ts, self.next_ts + 1
        try:
            response = self.session.post(f"{self.server.url}/api/v1/agents/{self.agent_id}/push",
                                         headers={"Authorization": f"Bearer {self.token}"},
                                         json=body(ts, self.containers), timeout=30)
        except requests.ConnectionError as error:
            self.failures.append(("connection", ts, str(error)))
            return False
        self.last_response = response
        if response.status_code == 200:
            self.acknowledged.append(ts)
            return True
        self.failures.append((response.status_code, ts, response.text))
        return False

    def push_until(self, stop):
        while not stop.is_set():
            self.push_once()


def stored(server, sql, *params):
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def server(db_engine, tmp_path):
    live = LiveServer(tmp_path, **ADMIN).start()
    yield live
    live.stop()


@pytest.mark.slow
def test_32_agents_pushing_for_30_seconds_lose_nothing(server):
    agents = [PushingAgent(server, f"load-{i}", containers=10) for i in range(32)]
    stop = threading.Event()
    with ThreadPoolExecutor(len(agents)) as pool:
        for agent in agents:
            pool.submit(agent.push_until, stop)
        time.sleep(30)
        stop.set()
    assert [f for agent in agents for f in agent.failures] == []
    acknowledged = sum(len(agent.acknowledged) for agent in agents)
    assert acknowledged > 32 * 10  # it did push, a lot
    assert stored(server, "SELECT COUNT(*) FROM pushes") == [(acknowledged,)]
    assert len(unpacked(stored(server, "SELECT ts, containers FROM pushes"))) == acknowledged * 10


@pytest.mark.slow
def test_a_killed_server_keeps_every_acknowledged_push(server):
    agents = [PushingAgent(server, f"crash-{i}", containers=20) for i in range(8)]
    stop = threading.Event()
    with ThreadPoolExecutor(len(agents)) as pool:
        for agent in agents:
            pool.submit(agent.push_until, stop)
        time.sleep(3)
        server.stop(signal.SIGKILL)  # mid-push: some requests are in flight
        time.sleep(0.5)
        stop.set()
    server.start()
    assert stored(server, "PRAGMA integrity_check") == [("ok",)]
    for agent in agents:
        kept = {ts for (ts,) in stored(server, "SELECT ts FROM pushes WHERE agent_id = ?", agent.agent_id)}
        assert set(agent.acknowledged) <= kept, agent.name
        for ts in agent.acknowledged[-3:]:
            assert len(unpacked(stored(server, "SELECT ts, containers FROM pushes WHERE agent_id = ? AND ts = ?",
                                       agent.agent_id, ts))) == 20
    for agent in agents:  # agents carry on after registering again
        agent.register()
        assert agent.push_once(), agent.failures[-1]
    assert sum(len(agent.acknowledged) for agent in agents) > 8 * 5


def push_status(agent):
    agent.push_once()
    return agent.failures[-1][0] if agent.failures and agent.failures[-1][1] == agent.next_ts - 1 else 200


def test_a_locked_database_is_503_and_pushes_resume_when_it_is_released(server):
    agent = PushingAgent(server, "locked", containers=3)
    holder = sqlite3.connect(server.db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = agent.session.post(f"{server.url}/api/v1/agents/{agent.agent_id}/push",
                                      headers={"Authorization": f"Bearer {agent.token}"}, json=body(START, 3))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == 503
    assert push_status(agent) == 200


def test_a_read_only_database_is_503_and_pushes_resume_when_it_is_writable(server):
    if os.geteuid() != 0:
        pytest.fail("making a file immutable needs root, as CI runs")
    agent = PushingAgent(server, "read-only", containers=3)
    assert push_status(agent) == 200
    # The shared-memory index (-shm) stays writable: SQLite maps it, and a mapped file turning
    # immutable under a process is not a failure a disk produces.
    files = [p for p in (server.db_path, f"{server.db_path}-wal") if os.path.exists(p)]
    subprocess.run(["chattr", "+i", *files], check=True)
    try:
        status = push_status(agent)
        text = agent.failures[-1][2] if agent.failures else ""
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)
    assert status == 503, text
    assert "Traceback" not in text
    assert push_status(agent) == 200


def test_a_full_database_is_503_and_pushes_resume_when_room_is_made(db_engine, tmp_path):
    # The empty schema (10) takes 61 pages of 4 KiB: a few more hold the first admin and some pushes.
    server = LiveServer(tmp_path, SQLITE_MAX_PAGE_COUNT=64, **ADMIN).start()
    try:
        filler = PushingAgent(server, "filler", containers=50)
        agent = PushingAgent(server, "steady", containers=2)
        statuses = [push_status(filler) for _ in range(200)]
        assert 503 in statuses, statuses
        first_full = statuses.index(503)
        assert set(statuses[:first_full]) == {200} and set(statuses[first_full:]) == {503}
        kept = {ts for (ts,) in stored(server, "SELECT ts FROM pushes WHERE agent_id = ?", filler.agent_id)}
        assert kept == set(filler.acknowledged)  # a refused push left nothing behind
        full = filler.last_response
        assert full.status_code == 503 and full.headers["Retry-After"] == "5"
        assert full.headers["Content-Type"] == "application/json"
        assert full.json()["message"] == "The database is unavailable right now; retry shortly."
        jwt = requests.post(server.url + "/api/v1/auth/login",
                            json={"email": ADMIN["ADMIN_EMAIL"], "password": ADMIN["ADMIN_PASSWORD"]}).json()["token"]
        deleted = requests.delete(f"{server.url}/api/v1/agents/{filler.agent_id}",
                                  headers={"Authorization": f"Bearer {jwt}"})
        assert deleted.status_code == 204
        assert push_status(agent) == 200
    finally:
        server.stop()
