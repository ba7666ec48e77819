"""Real server processes on one PostgreSQL database: one leads the timers, another takes over when it is killed."""

import random
import signal
import threading
import time

import pytest
import requests
from sqlalchemy import create_engine, text

import engines
from alerting_world import Receiver
from conftest import TEST_CONFIG
from kubewatch import create_app, rollup_job
from kubewatch.db import db
from kubewatch.repository.leader_lock import LEADER_LOCK
from polling import wait_until
from stored import unpacked
from test_several_processes import push, register, signed_in, start_servers

pytestmark = engines.postgresql_only("several server processes on one database; a second one on a SQLite file is refused (test_sqlite_owner.py)")
LEADS = "this server process now leads"
TIMERS = {"PUSH_INTERVAL_SECONDS": 1, "ALERT_INTERVAL": 1, "ROLLUP_INTERVAL": 1}


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.stop()


def leaders(servers):
    """Return the running servers whose log says they lead."""
    return [server for server in servers if server.process is not None and LEADS in server.output()]


def alert_on_stops(server, receiver):
    """Send container_stopped alerts of the first server's organization to the receiver's "hook"."""
    user = signed_in(server)
    channel = requests.post(server.url + "/api/v1/notification-channels", headers=user,
                            json={"name": "hook", "url": receiver.url("hook")}).json()["id"]
    created = requests.post(server.url + "/api/v1/alert-rules", headers=user,
                            json={"name": "stops", "kind": "container_stopped", "channels": [channel]})
    assert created.status_code == 201, created.text


def test_one_process_evaluates_and_another_takes_over_within_seconds_of_a_kill(tmp_path, postgres_url,
                                                                                receiver):
    servers = start_servers(tmp_path, postgres_url, 2, **TIMERS)
    try:
        leader = wait_until(lambda: leaders(servers), "a leader", 10)
        time.sleep(2)  # two ticks more: still one
        assert leaders(servers) == leader and len(leader) == 1
        leader = leader[0]
        other = servers[1 - servers.index(leader)]
        alert_on_stops(other, receiver)
        agent = register(other, servers[0].first_run_key())
        web = {"id": "c1", "name": "web", "status": "running"}
        assert push(other, agent, time.time(), [web]).status_code == 200
        time.sleep(1.5)  # the evaluator sees it running
        assert push(other, agent, time.time(), [dict(web, status="exited")]).status_code == 200
        wait_until(lambda: receiver.messages("hook"), "the firing message")
        time.sleep(2)
        assert receiver.titles("hook") == ["[kubewatch] FIRING: stops: web on prod-web"]

        leader.stop(signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: LEADS in other.output(), "the other process to take over", 10)
        assert time.monotonic() - killed_at < 5  # its next tick finds the lock free
        assert push(other, agent, time.time(), [web]).status_code == 200
        wait_until(lambda: len(receiver.messages("hook")) == 2, "the resolved message")
        time.sleep(2)
        assert receiver.titles("hook") == ["[kubewatch] FIRING: stops: web on prod-web",
                                           "[kubewatch] RESOLVED: stops: web on prod-web"]
    finally:
        for server in servers:
            server.stop()


CONTAINERS = 3
PUSHES = 80  # per agent, 5 s apart, ending a few minutes ago: all in whole minutes the rollup job takes
STEP = 5


def _push_until_acknowledged(servers, agent, ts, containers, randomly):
    """Push through random servers until one answers 200 (a killed one may or may not have stored it)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        server = randomly.choice(servers)
        if server.process is None:
            continue
        try:
            answer = push(server, agent, ts, containers)
        except requests.RequestException:
            continue
        if answer.status_code == 200:
            return
        assert answer.status_code >= 500, answer.text  # only a server dying mid-push may fail it
    raise AssertionError(f"push {ts} of {agent['agentId']} was never acknowledged")


def _agent_pushes(servers, agent, number, start, acknowledged, failures):
    randomly = random.Random(number)
    try:
        for step in range(PUSHES):
            ts = start + step * STEP
            # The first agent's c0 stops three quarters of the way, for good: one alert, fired once.
            containers = [{"id": f"c{index}", "name": f"c{index}",
                           "status": "exited" if number == 0 and index == 0 and step >= PUSHES * 3 // 4 else "running",
                           "cpuPercent": float(number * 1000 + step * 10 + index), "memoryMB": 10.0 + step}
                          for index in range(CONTAINERS)]
            _push_until_acknowledged(servers, agent, ts, containers, randomly)
            acknowledged.append((agent["agentId"], ts, containers))
            time.sleep(0.05)
    except BaseException as error:  # seen by the test, not lost in the thread
        failures.append(error)


@pytest.mark.slow
def test_three_processes_with_one_killed_and_restarted_lose_nothing_and_fire_once(tmp_path, postgres_url,
                                                                                    receiver):
    servers = start_servers(tmp_path, postgres_url, 3, **TIMERS)
    engine = create_engine(postgres_url)
    try:
        alert_on_stops(servers[0], receiver)
        agents = [register(servers[number % 3], servers[0].first_run_key(), f"agent-{number}") for number in range(6)]
        now = int(time.time())
        start = now - now % 60 - 600  # ten minutes ago, on a whole minute
        acknowledged, failures = [], []
        threads = [threading.Thread(target=_agent_pushes, args=(servers, agent, number, start, acknowledged, failures))
                   for number, agent in enumerate(agents)]
        for thread in threads:
            thread.start()
        for victim in (1, 0):  # a follower, then whichever leads by then: killed mid-push, restarted
            time.sleep(2)
            victim = leaders(servers)[0] if victim == 0 else [s for s in servers if s not in leaders(servers)][0]
            victim.stop(signal.SIGKILL)
            time.sleep(1)
            victim.start()
        for thread in threads:
            thread.join(120)
        assert failures == [] and len(acknowledged) == 6 * PUSHES

        def query(sql, **params):
            with engine.connect() as conn:
                return conn.execute(text(sql), params).all()
        # Every acknowledged sample is stored once, with what was pushed.
        stored = query("SELECT agent_id, ts, containers FROM pushes ORDER BY agent_id, ts")
        assert sorted((agent_id, ts) for agent_id, ts, _ in stored) == sorted(
            (agent_id, ts) for agent_id, ts, _ in acknowledged)
        names = dict(((agent_id, key), name) for agent_id, key, name in
                     query("SELECT agent_id, key, name FROM containers"))
        pushed = {(agent_id, ts, c["name"]): c for agent_id, ts, containers in acknowledged for c in containers}
        for agent_id, ts, blob in stored:
            for _, key, values in unpacked([(ts, blob)]):
                sent = pushed[(agent_id, ts, names[(agent_id, key)])]
                assert (values[0], values[1]) == (sent["cpuPercent"], sent["memoryMB"])
        # The rollups equal the raw data, minute by minute and hour by hour.
        wait_until(lambda: query("SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)],
                   "every push rolled up", 30, every=0.5)
        # The hour pushed into may still be open: its hour rows are merged once it is over
        # (kubewatch/rollup_hours.py). A run of the job an hour ahead closes it.
        closer = create_app(dict(TEST_CONFIG, DATABASE_URL=postgres_url))
        with closer.app_context():
            rollup_job.run(closer.config, int(time.time()) + 3600)
            db.engine.dispose()
        for step in (60, 3600):
            expected = {}
            for (agent_id, ts, name), sent in pushed.items():
                bucket = expected.setdefault((agent_id, name, ts - ts % step), [])
                bucket.append(sent["cpuPercent"])
            rolled = {(agent_id, names[(agent_id, key)], bucket): (samples, average, most)
                      for agent_id, key, bucket, samples, average, most in query(
                          "SELECT agent_id, key, bucket, samples, cpu_percent_avg, cpu_percent_max "
                          "FROM container_rollups WHERE step = :step", step=step)}
            assert rolled.keys() == expected.keys()
            for where, values in expected.items():
                assert rolled[where] == (len(values), pytest.approx(sum(values) / len(values)), max(values))
        # The latest state is the latest push.
        user = signed_in(servers[2])
        for agent in agents:
            latest = max(ts for agent_id, ts, _ in acknowledged if agent_id == agent["agentId"])
            listed = requests.get(f"{servers[2].url}/api/v1/agents/{agent['agentId']}/containers", headers=user).json()
            assert {c["name"]: c["status"] for c in listed} == {
                c["name"]: c["status"] for agent_id, ts, containers in acknowledged
                if agent_id == agent["agentId"] and ts == latest for c in containers}
        # Nothing fired twice: c0 of agent-0 stopped once, and was told once.
        wait_until(lambda: receiver.messages("hook"), "the firing message")
        time.sleep(3)
        assert receiver.titles("hook") == ["[kubewatch] FIRING: stops: c0 on agent-0"]
        assert query("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND granted "
                     "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                     key=LEADER_LOCK) == [(1,)]  # one leader at the end too (of this database: others run beside)
    finally:
        engine.dispose()
        for server in servers:
            server.stop()
