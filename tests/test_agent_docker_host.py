"""One agent for a Docker host: its containers and the machine itself as a node, figures checked for sense."""

import copy
import json
import logging
import socket

import pytest

from fake_docker import FakeEngine
from fake_sysfs import DOCKER_HOST, feed, sysfs_tree  # noqa: F401 (feed is a fixture)
from kubewatch.api.push_schema import PushSchema
from kubewatch_agent.cli import main
from kubewatch_agent.collectors import host, make_collector
from kubewatch_agent.sample import Sampler
from test_agent_docker import DB, WEB, engine_unreachable

# The docker SDK closes a refused socket in the garbage collector: see test_agent_docker.
pytestmark = engine_unreachable


@pytest.fixture
def engine(tmp_path, monkeypatch):
    socket_path = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
    fake = FakeEngine(socket_path).start()
    yield fake
    fake.stop()


@pytest.fixture
def docker_host():
    collector = make_collector("docker")
    yield collector
    collector.close()


def by_id(body):
    return {container["id"]: container for container in body["containers"]}


def test_the_docker_platform_reports_its_containers_and_the_machine_as_a_node(engine, docker_host):
    body = Sampler(docker_host)()
    loaded = PushSchema().load(body)
    assert (len(loaded["containers"]), loaded["pods"]) == (5, [])
    [node] = body["nodes"]
    assert (node["name"], node["status"]) == (socket.gethostname(), "Ready")
    assert {"cpuCores", "cpuPercent", "memoryMB", "memoryCapacityMB", "fsUsedBytes", "fsCapacityBytes"} <= set(node)
    assert set(node) == set(make_collector("host").collect()["nodes"][0])  # what --platform host reports


def test_without_an_engine_the_machine_is_still_pushed_and_the_trouble_logged_once(tmp_path, monkeypatch, caplog,
                                                                                  docker_host):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'absent.sock'}")
    caplog.set_level(logging.INFO, logger="kubewatch_agent")
    sample = Sampler(docker_host)
    bodies = [sample() for _ in range(3)]
    assert [(body["containers"], [node["name"] for node in body["nodes"]]) for body in bodies] == [
        ([], [socket.gethostname()])] * 3
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("docker: cannot reach the Docker Engine at unix://")


def changed_stats(engine, name, change):
    stats = copy.deepcopy(engine.stats[name])
    change(stats)
    engine.stats[name] = stats


@pytest.mark.parametrize("cpu_delta, percent", [
    (2000000000, 400.0),  # as much CPU time as the 4 online CPUs had between the two readings: possible
    (2010000000, None),  # 402 %: more than 4 CPUs can give, a garbled reading, never clamped
    (2**64 - 1, None),  # a counter read wrapped
])
def test_container_cpu_above_its_online_cpus_is_not_measured(db_engine, engine, docker_host, cpu_delta, percent):
    # web's readings: total_usage 200000000 before; system_cpu_usage 1008e9 then 1010e9, 4 online CPUs
    changed_stats(engine, "web", lambda stats: stats["cpu_stats"]["cpu_usage"].update(
        total_usage=200000000 + cpu_delta))
    web = by_id(Sampler(docker_host)())[WEB]
    assert web.get("cpuPercent") == percent
    assert (web["memoryMB"], web["memoryLimitMB"]) == (80.0, 512.0)


def test_container_memory_above_its_limit_is_not_measured_and_the_rest_kept(db_engine, engine, docker_host):
    changed_stats(engine, "web", lambda stats: stats["memory_stats"].update(usage=600 * 1048576))
    web = by_id(Sampler(docker_host)())[WEB]
    assert "memoryMB" not in web
    assert (web["cpuPercent"], web["memoryLimitMB"], web["networkRxBytes"]) == (40.0, 512.0, 11240)


def test_negative_network_counters_are_not_measured_and_do_not_lose_the_push(db_engine, engine, docker_host):
    changed_stats(engine, "db", lambda stats: stats["networks"]["eth0"].update(rx_bytes=-2000000))
    body = Sampler(docker_host)()
    PushSchema().load(body)  # one negative number would have had the whole push refused
    db = by_id(body)[DB]
    assert "networkRxBytes" not in db and db["networkTxBytes"] == 3000000


def test_dry_run_on_a_docker_host_counts_the_machines_traffic_once(engine, tmp_path, feed, monkeypatch, capsys):
    # The host: eth0 104857600 in / 10485760 out; docker0 and a veth relaying 10485760 / 104857600 each.
    feed(DOCKER_HOST)
    monkeypatch.setattr(host, "SYSFS", sysfs_tree(tmp_path / "sys", DOCKER_HOST))
    assert main(["--dry-run", "--platform", "docker"], {}) == 0
    body = json.loads(capsys.readouterr().out)
    [node] = body["nodes"]
    assert (len(body["containers"]), node["networkRxBytes"], node["networkTxBytes"]) == (5, 104857600, 10485760)
