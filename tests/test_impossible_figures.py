"""Figures that cannot be true are stored as not measured, the rest of the push kept, logged once per agent."""

import json
import logging
import time

import pytest

from conftest import bearer, container
from kubewatch import rollup_job
from kubewatch.api.fields import EpochTime

NODE = {"name": "node-1", "status": "Ready", "cpuCores": 4, "cpuPercent": 35.5, "memoryMB": 2048,
        "memoryCapacityMB": 8192, "fsUsedBytes": 10, "fsCapacityBytes": 100, "networkRxBytes": 7}
POD = {"name": "foo", "namespace": "default", "uid": "u-new", "nodeName": "node-1", "cpuPercent": 25.0,
       "memoryMB": 120.0, "networkRxBytes": 5000, "networkTxBytes": 6000}
# cpuPercent from a kubelet's usageNanoCores read wrapped: 18446744073709551000 over one core.
WRAPPED = 1844674407370.96


def push(org, agent, ts, containers=(), nodes=(), pods=()):
    body = {"timestamp": EpochTime.format(ts), "containers": list(containers), "nodes": list(nodes), "pods": list(pods)}
    response = org.push(agent, body)
    assert response.status_code == 200, response.json
    return response


def post_raw(org, agent, raw):
    return org.client.post(f"/api/v1/agents/{agent['agentId']}/push", data=raw, content_type="application/json",
                           headers=bearer(agent["token"]))


def listed(org, agent, what):
    return org.client.get(f"/api/v1/agents/{agent['agentId']}/{what}", headers=bearer(org.viewer)).json


def series(org, agent, path, start, end, step=None):
    query = {"from": EpochTime.format(start), "to": EpochTime.format(end), **({"step": step} if step else {})}
    response = org.client.get(f"/api/v1/agents/{agent['agentId']}/{path}/metrics", query_string=query,
                              headers=bearer(org.viewer))
    assert response.status_code == 200, response.json
    return response.json["points"]


def impossible_lines(caplog):
    return [r.getMessage() for r in caplog.records if "cannot be true" in r.getMessage()]


def test_a_wrapped_usage_is_not_measured_in_the_list_nor_in_the_minute_and_hour_history(app, org, caplog):
    """The issue's input: a pod's and a node's cpuPercent from a wrapped usageNanoCores."""
    agent = org.register(platform="kubernetes")
    now = int(time.time())
    ts = now - now % 3600 - 3600 + 30  # a whole hour back: the job rolls up its minute and its hour
    with caplog.at_level(logging.WARNING, "kubewatch"):
        push(org, agent, ts, nodes=[{**NODE, "cpuPercent": WRAPPED / 4}], pods=[{**POD, "cpuPercent": WRAPPED}])
    [pod] = listed(org, agent, "pods")
    assert (pod["cpuPercent"], pod["memoryMB"], pod["networkRxBytes"], pod["networkTxBytes"]) == (None, 120.0, 5000, 6000)
    [node] = listed(org, agent, "nodes")
    assert (node["cpuPercent"], node["memoryMB"], node["cpuCores"]) == (None, 2048.0, 4.0)
    with app.app_context():
        rollup_job.run(app.config, now)
    for step in ("1m", "1h"):
        [point] = series(org, agent, "pods/default/foo", ts - 3600, ts + 3600, step)
        assert (point["cpuPercent"], point["cpuPercentMax"], point["memoryMB"]) == (None, None, 120.0)
        [point] = series(org, agent, "nodes/node-1", ts - 3600, ts + 3600, step)
        assert (point["cpuPercent"], point["cpuPercentMax"]) == (None, None)
    [line] = impossible_lines(caplog)
    assert agent["agentId"] in line and "this push 2" in line


def test_impossible_figures_are_logged_once_per_agent_not_every_push(org, caplog):
    agent, other = org.register(), org.register(name="other")
    now = int(time.time()) - 100
    with caplog.at_level(logging.WARNING, "kubewatch"):
        for step in range(3):
            push(org, agent, now + step * 15, pods=[{**POD, "cpuPercent": WRAPPED}])
            push(org, other, now + step * 15, nodes=[{**NODE, "fsUsedBytes": 101}])
    lines = impossible_lines(caplog)
    assert len(lines) == 2
    assert agent["agentId"] in lines[0] and "pod default/foo cpuPercent 1844674407370.96" in lines[0]
    assert other["agentId"] in lines[1] and "node node-1 fsUsedBytes 101 (more than the filesystem holds)" in lines[1]


@pytest.mark.parametrize("nodes, fields, kept", [
    ([], {"cpuPercent": 409_600.0}, True),  # 4,096 cores busy: a very large machine, not impossible
    ([], {"cpuPercent": WRAPPED}, False),
    ([NODE], {"cpuPercent": 400.0}, True),  # all 4 cores of the Docker host it reports as a node
    ([NODE], {"cpuPercent": 400.01}, False),
    ([NODE, {**NODE, "name": "big", "cpuCores": 16}], {"cpuPercent": 1500.0}, True),
    ([], {"memoryMB": 512.0, "memoryLimitMB": 512}, True),
    ([], {"memoryMB": 512.5, "memoryLimitMB": 512}, False),
    ([], {"memoryMB": 600.0, "memoryLimitMB": None}, True),
    ([], {"memoryMB": 600.0, "memoryLimitMB": 0}, True),  # no limit
    ([NODE], {"memoryMB": 9000.0, "memoryLimitMB": None}, False),  # more than the host has
    ([], {"memoryMB": 100.0, "memoryLimitMB": 8796093022207.99}, True),  # "no limit" as cgroup v1 says it
    ([], {"memoryMB": 2.0 ** 31, "memoryLimitMB": None}, False),  # two pebibytes
])
def test_a_containers_figures_are_checked_against_its_limit_and_the_cores_there_are(org, nodes, fields, kept):
    agent = org.register()
    pushed = container("c1", "app", **fields)
    push(org, agent, int(time.time()) - 30, containers=[pushed, container("c2", "db")], nodes=nodes)
    found = {c["id"]: c for c in listed(org, agent, "containers")}
    field = "cpuPercent" if "cpuPercent" in fields else "memoryMB"
    assert found["c1"][field] == (pushed[field] if kept else None)
    # The rest of the object, and of the push, is kept.
    assert (found["c1"]["networkRxBytes"], found["c1"]["status"], found["c2"]["cpuPercent"]) == (10240, "running", 12.4)


@pytest.mark.parametrize("fields, field", [
    ({"memoryMB": 9000, "memoryCapacityMB": 8192}, "memoryMB"),
    ({"fsUsedBytes": 101, "fsCapacityBytes": 100}, "fsUsedBytes"),
    ({"cpuPercent": 100.01}, "cpuPercent"),
    ({"cpuPercent": 250.0}, "cpuPercent"),
    ({"cpuCores": 100_000}, "cpuCores"),
])
def test_a_nodes_usage_beyond_its_capacity_is_not_measured(org, fields, field):
    agent = org.register()
    push(org, agent, int(time.time()) - 30, nodes=[{**NODE, **fields}])
    [node] = listed(org, agent, "nodes")
    assert node[field] is None
    kept = {name: value for name, value in NODE.items() if name not in fields}
    assert {name: node[name] for name in kept} == kept


def test_a_node_at_exactly_its_capacity_is_measured(org):
    agent = org.register()
    full = {**NODE, "cpuPercent": 100.0, "memoryMB": 8192, "fsUsedBytes": 100}
    push(org, agent, int(time.time()) - 30, nodes=[full])
    [node] = listed(org, agent, "nodes")
    assert (node["cpuPercent"], node["memoryMB"], node["fsUsedBytes"]) == (100.0, 8192.0, 100)


def test_a_pods_figures_are_bounded_by_its_own_node_and_its_limit(org):
    agent = org.register(platform="kubernetes")
    small, big = {**NODE, "name": "small", "cpuCores": 2, "memoryCapacityMB": 1024}, {**NODE, "name": "big",
                                                                                      "cpuCores": 64}
    pods = [{**POD, "name": "on-small", "nodeName": "small", "cpuPercent": 300.0, "memoryMB": 2000},
            {**POD, "name": "on-big", "nodeName": "big", "cpuPercent": 300.0, "memoryMB": 2000},
            {**POD, "name": "limited", "nodeName": "big", "memoryMB": 300, "memoryLimitMB": 256},
            {**POD, "name": "elsewhere", "nodeName": "not-pushed", "cpuPercent": 300.0}]
    push(org, agent, int(time.time()) - 30, nodes=[small, big], pods=pods)
    found = {p["name"]: (p["cpuPercent"], p["memoryMB"]) for p in listed(org, agent, "pods")}
    assert found == {"on-small": (None, None), "on-big": (300.0, 2000.0), "limited": (25.0, None),
                     "elsewhere": (300.0, 120.0)}


NUMBER = '{"timestamp": "%s", "containers": [{"id": "c1", "name": "app", "cpuPercent": 3.5, "memoryMB": 48, ' \
         '"networkRxBytes": 10, "restartCount": 0, "%s": %s}, {"id": "c2", "name": "db", "cpuPercent": 1.5}]}'


@pytest.mark.parametrize("field, raw", [
    ("cpuPercent", "NaN"), ("cpuPercent", "Infinity"), ("memoryMB", "-Infinity"), ("cpuPercent", "1e400"),
    ("memoryMB", "-1e400"), ("cpuPercent", "1" + "0" * 400), ("cpuPercent", "-1"), ("memoryMB", "-0.5"),
    ("memoryLimitMB", "-512"), ("networkRxBytes", str(2**63)), ("networkRxBytes", "18446744073709551000"),
    ("restartCount", "-1"), ("networkRxBytes", "NaN"),
])
def test_a_figure_that_is_no_possible_number_is_not_measured_and_the_rest_is_kept(org, caplog, field, raw):
    agent = org.register()
    ts = EpochTime.format(int(time.time()) - 30)
    with caplog.at_level(logging.WARNING, "kubewatch"):
        response = post_raw(org, agent, NUMBER % (ts, field, raw))
    assert response.status_code == 200, response.json
    found = {c["id"]: c for c in listed(org, agent, "containers")}
    expected = {"cpuPercent": 3.5, "memoryMB": 48.0, "networkRxBytes": 10, "restartCount": 0, field: None}
    assert {name: found["c1"][name] for name in expected} == expected
    assert found["c2"]["cpuPercent"] == 1.5
    [line] = impossible_lines(caplog)
    assert f"container c1 {field}" in line and "no possible number" in line


@pytest.mark.parametrize("raw, where", [
    ('{"timestamp": "%s", "containers": [{"id": "c", "name": "n", "restartCount": 1e3}]}', "restartCount"),
    ('{"timestamp": "%s", "containers": [{"id": "c", "name": "n", "networkRxBytes": 1.5, "cpuPercent": -1}]}',
     "networkRxBytes"),
    ('{"timestamp": "%s", "containers": [{"id": "c", "name": "n", "cpuPercent": "NaN"}]}', "cpuPercent"),
    ('{"timestamp": "%s", "containers": [{"id": "c", "name": "n", "cpuPercent": NaN}, {"id": "c", "name": "m"}]}',
     "containers"),
    ('{"timestamp": "%s", "containers": [{"id": "c", "cpuPercent": -1}]}', "name"),
])
def test_a_wrong_body_is_still_refused_whole_beside_an_impossible_figure(org, query, raw, where):
    agent = org.register()
    response = post_raw(org, agent, raw % EpochTime.format(int(time.time()) - 30))
    assert response.status_code == 400
    assert where in json.dumps(response.json["errors"])
    assert query("SELECT COUNT(*) FROM pushes") == [(0,)]


def test_a_figure_left_out_is_not_measured_in_the_raw_series_either(org):
    agent = org.register()
    ts = int(time.time()) - 60
    push(org, agent, ts, containers=[container("c1", "app", cpuPercent=WRAPPED)])
    push(org, agent, ts + 15, containers=[container("c1", "app", cpuPercent=20.0)])
    points = series(org, agent, "containers/c1", ts - 10, ts + 20)
    assert [(p["cpuPercent"], p["memoryMB"]) for p in points] == [(None, 48.0), (20.0, 48.0)]
