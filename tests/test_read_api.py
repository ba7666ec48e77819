"""Reading an agent back: its detail, the objects of its latest push, their series; isolation and validation."""

import time

import pytest

from conftest import bearer, container, sample_push
from kubewatch.api.fields import EpochTime

NOW = int(time.time()) - 600
NODE = {"name": "node-1", "status": "Ready", "kubeletVersion": "v1.30.2", "cpuCores": 4, "cpuPercent": 35.5,
        "memoryMB": 2048.5, "memoryCapacityMB": 7961.6, "podCount": 12, "podCapacity": 110,
        "networkRxBytes": 1000, "networkTxBytes": 2000, "fsUsedBytes": 5 * 2**30, "fsCapacityBytes": 50 * 2**30}
POD = {"name": "api-7d9f", "namespace": "shop", "uid": "u-1", "nodeName": "node-1", "phase": "Running", "ready": True,
       "containerCount": 2, "readyContainers": 2, "restartCount": 1, "cpuPercent": 12.5, "memoryMB": 256.0,
       "memoryLimitMB": 512.0, "networkRxBytes": 300, "networkTxBytes": 600}


def _push(org, agent, ts, containers, nodes=(), pods=()):
    body = {"timestamp": EpochTime.format(ts), "containers": list(containers), "nodes": list(nodes),
            "pods": list(pods)}
    response = org.push(agent, body)
    assert response.status_code == 200, response.json


@pytest.fixture
def agent(org):
    agent = org.register(platform="kubernetes")
    _push(org, agent, NOW - 15, [container("c1", "web", networkRxBytes=1000, networkTxBytes=500),
                                 container("gone", "old")],
          [NODE], [POD, {**POD, "name": "worker", "namespace": "jobs"}])
    _push(org, agent, NOW, [container("c1", "web", networkRxBytes=400, networkTxBytes=800),  # rx was reset
                            container("c2", "batch", status="exited")],
          [{**NODE, "networkRxBytes": 2500, "networkTxBytes": 2000}],
          [{**POD, "networkRxBytes": 450}, {**POD, "name": "worker", "namespace": "jobs"}])
    return agent


def _get(org, path, token=None, **query):
    return org.client.get(path, query_string=query, headers=bearer(token or org.viewer))


def test_agent_detail_is_the_list_item_with_creation_interval_and_counts(org, agent):
    [listed] = org.agents().json
    detail = _get(org, f"/api/v1/agents/{agent['agentId']}")
    assert detail.status_code == 200
    assert detail.json == {**listed, "createdAt": detail.json["createdAt"], "pushIntervalSeconds": 15,
                           "nodeCount": 1, "podCount": 2, "clockSkewSeconds": detail.json["clockSkewSeconds"]}
    assert isinstance(detail.json["clockSkewSeconds"], int)
    assert abs(int(time.time()) - _epoch(detail.json["createdAt"])) < 60


def _epoch(iso):
    from datetime import datetime
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def test_containers_are_those_of_the_latest_push_as_pushed_with_rates(org, agent):
    response = _get(org, f"/api/v1/agents/{agent['agentId']}/containers")
    assert response.status_code == 200
    web, batch = response.json
    assert web == {"id": "c1", "name": "web", "image": "nginx:1.25", "status": "running", "health": None,
                   "exitCode": None, "oomKilled": None, "cpuPercent": 12.4,
                   "memoryMB": 48.0, "memoryLimitMB": 512.0, "networkRxBytes": 400,
                   "networkRxBytesPerSec": 26.7, "networkTxBytes": 800, "networkTxBytesPerSec": 20.0,
                   "restartCount": 0, "lastSeen": EpochTime.format(NOW), "recentRestarts": 0, "stoppedAt": None}
    assert (batch["id"], batch["status"], batch["networkRxBytesPerSec"]) == ("c2", "exited", None)  # new: no rate yet


def test_the_status_filter_keeps_matching_containers(org, agent):
    running = _get(org, f"/api/v1/agents/{agent['agentId']}/containers", status="running").json
    exited = _get(org, f"/api/v1/agents/{agent['agentId']}/containers", status="exited").json
    assert [c["id"] for c in running] == ["c1"] and [c["id"] for c in exited] == ["c2"]
    assert _get(org, f"/api/v1/agents/{agent['agentId']}/containers", status="paused").json == []


def test_nodes_and_pods_are_listed_with_the_push_payload_fields(org, agent):
    [node] = _get(org, f"/api/v1/agents/{agent['agentId']}/nodes").json
    assert node == {**NODE, "cpuCores": 4.0, "networkRxBytes": 2500, "networkRxBytesPerSec": 100.0,
                    "networkTxBytesPerSec": 0.0, "lastSeen": EpochTime.format(NOW)}
    pods = _get(org, f"/api/v1/agents/{agent['agentId']}/pods").json
    assert sorted((p["namespace"], p["name"]) for p in pods) == [("jobs", "worker"), ("shop", "api-7d9f")]
    [shop] = _get(org, f"/api/v1/agents/{agent['agentId']}/pods", namespace="shop").json
    assert shop == {**POD, "networkRxBytes": 450, "networkRxBytesPerSec": 10.0, "networkTxBytesPerSec": 0.0,
                    "lastSeen": EpochTime.format(NOW), "recentRestarts": 0}
    assert shop["ready"] is True


def test_node_and_pod_series_raw_and_in_buckets(org, agent):
    node = _get(org, f"/api/v1/agents/{agent['agentId']}/nodes/node-1/metrics").json
    assert node["resolution"] == "raw" and len(node["points"]) == 2
    assert node["points"][1] == {"t": EpochTime.format(NOW), "cpuPercent": 35.5, "memoryMB": 2048.5, "podCount": 12,
                                 "networkRxBytesPerSec": 100.0, "networkTxBytesPerSec": 0.0,
                                 "fsUsedBytes": 5 * 2**30, "fsCapacityBytes": 50 * 2**30}
    hourly = _get(org, f"/api/v1/agents/{agent['agentId']}/nodes/node-1/metrics", step="1h",
                  **{"from": EpochTime.format(NOW - 3600)}).json
    assert hourly["resolution"] == "1h" and hourly["step"] == 3600
    last = hourly["points"][-1]
    assert (last["cpuPercentMax"], last["podCountMax"], last["fsCapacityBytes"]) == (35.5, 12, 50 * 2**30)
    pod = _get(org, f"/api/v1/agents/{agent['agentId']}/pods/shop/api-7d9f/metrics", step="1d",
               **{"from": EpochTime.format(NOW - 86400)}).json
    assert pod["points"][-1]["restartCount"] == 1
    assert sum(1 for p in pod["points"]) >= 1


READS = ["", "/containers", "/containers/c1/metrics", "/nodes", "/nodes/node-1/metrics", "/pods",
         "/pods/shop/api-7d9f/metrics"]


@pytest.mark.parametrize("path", READS)
def test_every_read_is_404_for_another_organizations_agent_and_401_without_a_token(org, other_org, agent, path):
    url = f"/api/v1/agents/{agent['agentId']}{path}"
    assert _get(org, url).status_code == 200
    assert _get(org, url, token=org.admin).status_code == 200
    response = _get(other_org, url)
    assert response.status_code == 404
    assert set(response.json) >= {"code", "status", "message"}
    assert org.client.get(url).status_code == 401


@pytest.mark.parametrize("path", ["/containers/nope/metrics", "/nodes/nope/metrics", "/pods/shop/nope/metrics",
                                  "/pods/nope/api-7d9f/metrics"])
def test_an_object_the_agent_never_pushed_is_404(org, agent, path):
    assert _get(org, f"/api/v1/agents/{agent['agentId']}{path}").status_code == 404


@pytest.mark.parametrize("series", ["/containers/c1/metrics", "/nodes/node-1/metrics", "/pods/shop/api-7d9f/metrics"])
@pytest.mark.parametrize("query, about", [
    ({"from": "2026-06-16T11:00:00Z", "to": "2026-06-16T10:00:00Z"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"from": "2026-06-16T10:00:00"}, "from"),  # no offset
    ({"to": "16/06/2026"}, "to"),
    ({"step": "5x"}, "step"),
    ({"step": "0"}, "step"),
    ({"step": "-60"}, "step"),
    ({"step": "1.5m"}, "step"),
    ({"from": "2026-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z", "step": "60"}, "points"),
    ({"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "step": "1s"}, "points"),
    ({"from": EpochTime.format(NOW - 10 ** 9)}, "from"),  # far before any tier, without step
])
def test_bad_series_queries_are_400_with_the_error_shape(org, agent, series, query, about):
    response = _get(org, f"/api/v1/agents/{agent['agentId']}{series}", **query)
    assert response.status_code == 400, response.json
    assert response.json["code"] == 400 and response.json["status"] == "Bad Request"
    if about == "points":
        assert "10000 points" in response.json["message"]
    elif about != "from" or "errors" in response.json:
        assert about in str(response.json.get("errors", response.json["message"]))


def test_each_tier_answers_the_steps_it_keeps_and_refuses_finer_ones(app, client):
    from conftest import Org
    app.config.update(RAW_RETENTION=48 * 3600, MINUTE_RETENTION=14 * 86400, HOUR_RETENTION=400 * 86400)
    org = Org(app, client, "acme")
    agent = org.register()
    _push(org, agent, NOW, [container("c1", "web")])
    url = f"/api/v1/agents/{agent['agentId']}/containers/c1/metrics"
    three_days, thirty_days = EpochTime.format(NOW - 3 * 86400), EpochTime.format(NOW - 30 * 86400)
    assert "whole minutes" in _get(org, url, step="30s", **{"from": three_days}).json["message"]
    assert "whole hours" in _get(org, url, step="5m", **{"from": thirty_days}).json["message"]
    assert _get(org, url, step="5m", **{"from": three_days}).status_code == 200
    assert _get(org, url, step="1h", **{"from": thirty_days}).json["resolution"] == "1h"
    without_step = _get(org, url, **{"from": three_days}).json
    assert (without_step["resolution"], without_step["step"]) == ("1m", 60)
    assert _get(org, url, **{"from": thirty_days}).json["step"] == 3600


def test_health_exit_code_and_oom_kill_are_stored_and_listed_as_pushed(org):
    agent = org.register(name="stateful")
    body = sample_push(containers=[
        container("c1", "web", health="unhealthy"),
        container("c2", "postgres-main", status="exited", exitCode=137, oomKilled=True, cpuPercent=None),
    ])
    assert org.push(agent, body).status_code == 200
    listed = {c["id"]: c for c in _get(org, f"/api/v1/agents/{agent['agentId']}/containers").json}
    assert (listed["c1"]["health"], listed["c1"]["exitCode"], listed["c1"]["oomKilled"]) == ("unhealthy", None, None)
    assert (listed["c2"]["health"], listed["c2"]["exitCode"], listed["c2"]["oomKilled"]) == (None, 137, True)


@pytest.mark.parametrize("field, value", [("health", "sick"), ("exitCode", "137"), ("exitCode", 2**40),
                                          ("oomKilled", "yes")])
def test_a_bad_health_exit_code_or_oom_kill_is_a_400_that_stores_nothing(org, field, value):
    agent = org.register(name="strict")
    response = org.push(agent, sample_push(containers=[container("c1", "web", **{field: value})]))
    assert response.status_code == 400
    assert field in response.json["errors"]["json"]["containers"]["0"]
    assert _get(org, f"/api/v1/agents/{agent['agentId']}/containers").json == []
