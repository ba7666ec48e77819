"""The docker collector against a fake Engine answering with the API's documented JSON."""

import gc
import logging
import time

import pytest

from fake_docker import FakeEngine
from kubewatch_agent.collectors import CollectorUnavailable
from kubewatch_agent.collectors.docker import DockerCollector
from kubewatch_agent.sample import Sampler

# The short ids of the recorded containers (tests/fixtures/docker/containers.json).
WEB, DB, HOSTNET = "4b5e57f6eb2f", "7bdc25d1694e", "7af9ab734614"
WORKER, BATCH, CRON = "87eba76e7f31", "4bb24efc9641", "c374eea599bb"


@pytest.fixture
def engine(tmp_path, monkeypatch):
    socket_path = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
    fake = FakeEngine(socket_path).start()
    yield fake
    fake.stop()


@pytest.fixture
def collector():
    found = DockerCollector()
    yield found
    found.close()


# The docker SDK leaves the socket of a refused connect to the garbage collector, which warns
# when it closes it: harmless for the agent (the socket is closed), noise for these tests.
engine_unreachable = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning",
                                                "ignore:unclosed <socket.socket:ResourceWarning")


@pytest.fixture
def collect_garbage():
    """Close what the SDK left to the collector now, under the test's warning filters."""
    yield
    gc.collect()


def by_id(collected):
    return {container["id"]: container for container in collected["containers"]}


def test_figures_match_docker_stats_on_cgroup_v2(engine, collector):
    web = by_id(collector.collect())[WEB]
    # 200 ms of CPU in 2 s of system time on 4 CPUs; 100 MiB used less 20 MiB inactive_file; eth0 + eth1
    assert web == {"id": WEB, "name": "web", "image": "nginx:1.25", "status": "running", "restartCount": 0, "oomKilled": False,
                   "cpuPercent": 40.0, "memoryMB": 80.0, "memoryLimitMB": 512.0,
                   "networkRxBytes": 10240 + 1000, "networkTxBytes": 8192 + 24}


def test_figures_match_docker_stats_on_cgroup_v1_without_online_cpus(engine, collector):
    db = by_id(collector.collect())[DB]
    # 500 ms in 4 s times 2 per-CPU counters; 200 MiB less total_inactive_file (50 MiB), not inactive_file;
    # no memory limit: the Engine reports the host's memory, 8232894464 bytes
    assert db == {"id": DB, "name": "db", "image": "postgres:16", "status": "running", "restartCount": 2,
                  "oomKilled": False, "cpuPercent": 25.0, "memoryMB": 150.0, "memoryLimitMB": 7851.5,
                  "networkRxBytes": 2000000, "networkTxBytes": 3000000}


def test_host_networking_omits_network_fields(engine, collector):
    hostnet = by_id(collector.collect())[HOSTNET]
    assert "networkRxBytes" not in hostnet and "networkTxBytes" not in hostnet
    assert (hostnet["cpuPercent"], hostnet["memoryMB"], hostnet["memoryLimitMB"]) == (0.0, 8.0, 1024.0)


def test_container_that_stopped_after_the_list_is_reported_with_status_and_no_figures(engine, collector):
    assert by_id(collector.collect())[WORKER] == {"id": WORKER, "name": "worker", "image": "shop/worker:2.3.0",
                                                  "status": "exited", "restartCount": 3,
                                                  "exitCode": 137, "oomKilled": False}


def test_container_removed_after_the_list_is_left_out(engine, collector):
    assert BATCH not in by_id(collector.collect())


def test_stopped_containers_are_reported_without_asking_for_their_stats(engine, collector):
    assert by_id(collector.collect())[CRON] == {"id": CRON, "name": "cron", "image": "alpine:3.20",
                                                "status": "exited", "restartCount": 0,
                                                "exitCode": 0, "oomKilled": False}
    assert not any(path.startswith(f"/containers/{CRON}") and path.endswith("/stats")
                   for path in engine.requests)


def test_health_and_an_oom_kill_come_from_the_engines_inspect_state(engine, collector):
    engine.inspected["web"]["State"]["Health"] = {"Status": "unhealthy", "FailingStreak": 3, "Log": []}
    engine.inspected["worker"]["State"]["OOMKilled"] = True
    found = by_id(collector.collect())
    assert (found[WEB]["health"], found[WEB]["oomKilled"], "exitCode" in found[WEB]) == ("unhealthy", False, False)
    assert (found[WORKER]["exitCode"], found[WORKER]["oomKilled"], "health" in found[WORKER]) == (137, True, False)


def test_every_container_is_listed_running_or_not(engine, collector):
    assert set(by_id(collector.collect())) == {WEB, DB, HOSTNET, WORKER, CRON}
    assert "/version" in engine.requests  # the client negotiated the API version with the Engine


def test_stats_of_many_containers_are_fetched_concurrently(engine, collector):
    engine.stats_delay = 0.25
    engine.add_copies("web", 20)
    started = time.monotonic()
    collected = collector.collect()
    elapsed = time.monotonic() - started
    assert len(collected["containers"]) == 25
    assert engine.most_in_flight > 10
    assert elapsed < 1.5, f"23 stats answers of 0.25 s each took {elapsed:.2f} s"


@engine_unreachable
def test_engine_not_running_is_unavailable_with_a_one_line_reason(tmp_path, monkeypatch, collector, collect_garbage):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'absent.sock'}")
    with pytest.raises(CollectorUnavailable) as raised:
        collector.collect()
    assert str(raised.value).count("\n") == 0
    assert "absent.sock" in str(raised.value)


@engine_unreachable
def test_engine_going_away_and_back_is_logged_once_per_change_and_pushes_go_on(tmp_path, monkeypatch, caplog,
                                                                                collector, collect_garbage):
    socket_path = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
    sample = Sampler(collector)
    caplog.set_level(logging.INFO, logger="kubewatch_agent")
    bodies = [sample() for _ in range(3)]
    assert [body["containers"] for body in bodies] == [[], [], []]
    engine = FakeEngine(socket_path).start()
    try:
        bodies = [sample() for _ in range(2)]
    finally:
        engine.stop()
    assert all(len(body["containers"]) == 5 for body in bodies)
    sample()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3, lines
    assert "cannot reach the Docker Engine" in lines[0] and "collecting again" in lines[1]
    assert "cannot read containers" in lines[2]
