"""An agent's metrics as a whole: its containers (or nodes) added up, and what its containers did lately."""

import time

import pytest

from conftest import bearer, container
from kubewatch.api.fields import EpochTime


def push(org, agent, ts, containers, nodes=()):
    answer = org.push(agent, {"timestamp": EpochTime.format(ts), "containers": containers, "nodes": list(nodes),
                              "pods": []})
    assert answer.status_code == 200, answer.json


def series(org, agent, **query):
    return org.client.get(f"/api/v1/agents/{agent['agentId']}/metrics", query_string=query,
                          headers=bearer(org.viewer))


@pytest.fixture
def now():
    return int(time.time()) // 60 * 60 - 600


def test_the_agents_series_adds_up_its_containers(org, now):
    agent = org.register()
    for ts, cpu in ((now, 10.0), (now + 30, 30.0)):
        push(org, agent, ts, [container("a", "web", cpuPercent=cpu, memoryMB=100, networkRxBytes=int(ts - now) * 100),
                              container("b", "db", cpuPercent=cpu / 2, memoryMB=50, networkRxBytes=0)])
    raw = series(org, agent, **{"from": EpochTime.format(now - 60), "to": EpochTime.format(now + 60)})
    assert raw.status_code == 200
    assert raw.json["of"] == "containers" and raw.json["resolution"] == "raw"
    assert [(p["cpuPercent"], p["memoryMB"]) for p in raw.json["points"]] == [(15.0, 150.0), (45.0, 150.0)]
    assert raw.json["points"][1]["networkRxBytesPerSec"] == pytest.approx(100.0)
    minute = series(org, agent, step="1m", **{"from": EpochTime.format(now - 60), "to": EpochTime.format(now + 60)})
    [point] = minute.json["points"]
    assert (point["cpuPercent"], point["cpuPercentMax"], point["memoryMBMax"]) == (30.0, 45.0, 150.0)


def test_the_agents_series_is_rounded_as_a_containers_is(org, now):
    agent = org.register()
    push(org, agent, now, [container("a", "web", cpuPercent=0.1, memoryMB=0.1),
                           container("b", "db", cpuPercent=0.2, memoryMB=0.2)])
    raw = series(org, agent, **{"from": EpochTime.format(now - 60), "to": EpochTime.format(now + 60)})
    [point] = raw.json["points"]
    assert (point["cpuPercent"], point["memoryMB"]) == (0.3, 0.3)  # 0.1 + 0.2 is 0.30000000000000004


def test_a_kubernetes_agent_adds_up_its_nodes_and_averages_their_cpu(org, now):
    agent = org.register(platform="kubernetes")
    nodes = [{"name": "n1", "cpuPercent": 20.0, "memoryMB": 1000}, {"name": "n2", "cpuPercent": 40.0, "memoryMB": 500}]
    push(org, agent, now, [], nodes)
    answer = series(org, agent, **{"from": EpochTime.format(now - 60), "to": EpochTime.format(now + 60)}).json
    assert answer["of"] == "nodes"
    assert [(p["cpuPercent"], p["memoryMB"]) for p in answer["points"]] == [(30.0, 1500.0)]


def test_an_agent_without_pushes_has_an_empty_series_and_another_orgs_agent_is_404(org, other_org):
    agent = org.register()
    assert series(org, agent).json["points"] == []
    assert other_org.client.get(f"/api/v1/agents/{agent['agentId']}/metrics",
                                headers=bearer(other_org.viewer)).status_code == 404


def test_a_bad_step_is_400(org):
    assert series(org, org.register(), step="0").status_code == 400


def test_containers_say_when_they_stopped_after_running_and_how_often_they_restarted_lately(org, now):
    agent = org.register()
    push(org, agent, now, [container("a", "web"), container("b", "cron", status="exited"),
                           container("c", "flaky", restartCount=3)])
    push(org, agent, now + 15, [container("a", "web", status="exited"), container("b", "cron", status="exited"),
                                container("c", "flaky", restartCount=5)])
    listed = {c["name"]: c for c in org.client.get(f"/api/v1/agents/{agent['agentId']}/containers",
                                                    headers=bearer(org.viewer)).json}
    assert listed["web"]["stoppedAt"] == EpochTime.format(now + 15)
    assert listed["cron"]["stoppedAt"] is None  # never seen running
    assert [listed[name]["recentRestarts"] for name in ("web", "cron", "flaky")] == [0, 0, 2]
