"""The Agents API as documented: register, push, list, delete."""

import re
import time

import pytest

import stored
from conftest import bearer, container, sample_push

METRIC_TABLES = ["pushes", "containers", "nodes", "pods", "container_rollups", "node_rollups", "pod_rollups"]
KINDS = ["containers", "nodes", "pods"]


def sample_counts(query, agent_id=None):
    """Return how many samples of each kind are stored, of one agent or of all."""
    return [len(stored.samples(query, kind, agent_id)) for kind in KINDS]


def test_register_answers_the_documented_fields(org):
    registered = org.register()
    assert list(registered) == ["agentId", "token", "tokenExpiresIn", "pushIntervalSeconds"]
    assert re.fullmatch(r"agent_[0-9a-f]{8}", registered["agentId"])
    assert registered["tokenExpiresIn"] == 3600
    assert registered["pushIntervalSeconds"] == 15


def test_register_uses_configured_ttl_and_interval(app, org):
    app.config.update(AGENT_TOKEN_TTL=120, PUSH_INTERVAL_SECONDS=5)
    registered = org.register()
    assert (registered["tokenExpiresIn"], registered["pushIntervalSeconds"]) == (120, 5)


def test_registering_again_keeps_the_agent_id_and_updates_version(org):
    first = org.register(version="1.4.2")
    org.push(first)
    again = org.register(version="1.5.0", platform="kubernetes")
    assert again["agentId"] == first["agentId"]
    [agent] = org.agents().json
    assert (agent["version"], agent["platform"], agent["containerCount"]) == ("1.5.0", "kubernetes", 1)
    assert org.push(again, sample_push("2026-06-16T10:00:15Z")).status_code == 200


def test_same_name_on_another_host_is_another_agent(org):
    assert org.register(hostname="a")["agentId"] != org.register(hostname="b")["agentId"]


def test_same_name_and_host_in_another_org_is_another_agent(org, other_org):
    assert org.register()["agentId"] != other_org.register()["agentId"]


def test_register_retries_an_agent_id_that_collides(org, monkeypatch):
    from kubewatch.api import agents

    taken = org.register(name="first")["agentId"]
    candidates = iter([taken, taken, "agent_0000beef"])
    monkeypatch.setattr(agents, "new_agent_id", lambda: next(candidates))
    assert org.register(name="second")["agentId"] == "agent_0000beef"


def test_register_ignores_unknown_fields(org):
    assert org.register(features=["gpu"], os={"name": "linux"})["agentId"].startswith("agent_")


@pytest.mark.parametrize("body, field", [
    ({"hostname": "h"}, "name"),
    ({"name": "n"}, "hostname"),
    ({"name": "", "hostname": "h"}, "name"),
    ({"name": 5, "hostname": "h"}, "name"),
    ({"name": "n", "hostname": "h", "version": ["1"]}, "version"),
    ({"name": "n" * 256, "hostname": "h"}, "name"),
])
def test_register_rejects_bad_bodies_field_by_field(client, org, query, body, field):
    response = client.post("/api/v1/agents/register", json=body, headers={"X-API-Key": org.api_key})
    assert response.status_code == 400
    assert field in response.json["errors"]["json"]
    assert query("SELECT COUNT(*) FROM agents")[0][0] == 0


def test_push_stores_every_container_and_answers_ok(org, query):
    agent = org.register()
    body = sample_push(containers=[container("c1", "web"), container("c2", "db", cpuPercent=150.5)])
    response = org.push(agent, body)
    assert (response.status_code, response.json) == (200, {"ok": True})
    described = {key: (runtime_id, name) for key, runtime_id, name in query("SELECT key, runtime_id, name FROM containers")}
    rows = sorted((*described[key], *values, ts) for ts, key, values in stored.samples(query))
    ts = 1781604000  # 2026-06-16T10:00:00Z
    assert rows == [("c1", "web", 12.4, 48, 512, 10240, 8192, 0, ts),
                    ("c2", "db", 150.5, 48, 512, 10240, 8192, 0, ts)]


def test_push_updates_last_seen_to_receive_time_and_container_count(org):
    agent = org.register()
    before = time.time()
    org.push(agent, sample_push("2020-01-01T00:00:00Z", containers=[container("c1", "a"), container("c2", "b")]))
    [listed] = org.agents().json
    assert listed["containerCount"] == 2
    seen = time.mktime(time.strptime(listed["lastSeen"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert before - 1 <= seen <= time.time() + 1
    assert listed["lastSeen"].endswith("Z")


def test_push_stores_nodes_and_pods(org, query):
    agent = org.register(platform="kubernetes")
    body = sample_push(containers=[], nodes=[{
        "name": "node-1", "status": "Ready", "kubeletVersion": "v1.30.1", "cpuCores": 4, "cpuPercent": 37.5,
        "memoryMB": 2048, "memoryCapacityMB": 8192, "podCount": 12, "podCapacity": 110,
        "networkRxBytes": 1, "networkTxBytes": 2, "fsUsedBytes": 3, "fsCapacityBytes": 4}], pods=[{
        "name": "web-7d9", "namespace": "shop", "uid": "u-1", "nodeName": "node-1", "phase": "Running",
        "ready": True, "containerCount": 2, "readyContainers": 2, "restartCount": 3, "cpuPercent": 20,
        "memoryMB": 100, "memoryLimitMB": 256, "networkRxBytes": 5, "networkTxBytes": 6}])
    assert org.push(agent, body).status_code == 200
    ts = 1781604000
    nodes = {row[0]: tuple(row[1:]) for row in query("SELECT key, name, status, kubelet_version, cpu_cores, "
                                                     "memory_capacity_mb, pod_capacity FROM nodes")}
    # Node metrics in kinds order: cpu_percent, memory_mb, pod_count, network_rx_bytes, network_tx_bytes,
    # fs_used_bytes, fs_capacity_bytes.
    assert [(t, *nodes[key], *values) for t, key, values in stored.samples(query, "nodes")] == [
        (ts, "node-1", "Ready", "v1.30.1", 4, 8192, 110, 37.5, 2048, 12, 1, 2, 3, 4)]
    pods = {row[0]: tuple(row[1:]) for row in query("SELECT key, namespace, name, uid, node_name, phase, ready, "
                                                    "container_count, ready_containers FROM pods")}
    # Pod metrics in kinds order: cpu_percent, memory_mb, memory_limit_mb, network_rx_bytes, network_tx_bytes,
    # restart_count.
    assert [(t, *pods[key], *values) for t, key, values in stored.samples(query, "pods")] == [
        (ts, "shop", "web-7d9", "u-1", "node-1", "Running", 1, 2, 2, 20, 100, 256, 5, 6, 3)]
    [listed] = org.agents().json
    assert listed["containerCount"] == 0


def test_missing_optional_numbers_are_stored_as_not_measured(org, query):
    agent = org.register()
    org.push(agent, sample_push(containers=[{"id": "c1", "name": "bare"}]))
    assert [values for _, _, values in stored.samples(query)] == [(None,) * 6]


def test_a_retried_push_stores_nothing_twice(org, query):
    agent = org.register()
    body = sample_push(containers=[container("c1", "a"), container("c2", "b")],
                       nodes=[{"name": "n1"}], pods=[{"name": "p", "namespace": "ns"}])
    assert org.push(agent, body).json == {"ok": True}
    assert org.push(agent, body).json == {"ok": True}
    assert [query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in METRIC_TABLES] == [1, 2, 1, 1, 0, 0, 0]
    assert sample_counts(query) == [2, 1, 1]


def test_a_late_replayed_push_does_not_overwrite_newer_state(org, query):
    agent = org.register()
    org.push(agent, sample_push("2026-06-16T10:00:15Z", containers=[container("c1", "new-name", status="exited")]))
    org.push(agent, sample_push("2026-06-16T10:00:00Z", containers=[container("c1", "old-name"), container("c2", "b")]))
    assert query("SELECT name, status FROM containers WHERE runtime_id = 'c1'")[0] == ("new-name", "exited")
    assert stored.count(query) == 3
    assert org.agents().json[0]["containerCount"] == 1


def test_a_newer_push_repeating_what_a_late_one_said_is_kept(org, query):
    agent = org.register()
    org.push(agent, sample_push("2026-06-16T10:00:00Z", containers=[container("c1", "a", status="running")]))
    org.push(agent, sample_push("2026-06-16T10:00:30Z", containers=[container("c1", "a", status="exited")]))
    org.push(agent, sample_push("2026-06-16T10:00:15Z", containers=[container("c1", "a", status="running")]))
    org.push(agent, sample_push("2026-06-16T10:00:45Z", containers=[container("c1", "a", status="running")]))
    assert query("SELECT status, described_at FROM containers")[0] == ("running", 1781604045)
    org.push(agent, sample_push("2026-06-16T10:01:00Z", containers=[container("c1", "a", status="running")]))
    assert query("SELECT status, described_at FROM containers")[0] == ("running", 1781604045)  # steady: unchanged


def test_container_keys_are_stable_across_pushes(org, query):
    agent = org.register()
    org.push(agent, sample_push("2026-06-16T10:00:00Z", containers=[container("c1", "a")]))
    org.push(agent, sample_push("2026-06-16T10:00:15Z", containers=[container("c2", "b"), container("c1", "a")]))
    assert [tuple(r) for r in query("SELECT runtime_id, key FROM containers ORDER BY key")] == [("c1", 1), ("c2", 2)]
    assert [(ts, key) for ts, key, _ in stored.samples(query)] == [(1781604000, 1), (1781604015, 1), (1781604015, 2)]


def test_push_ignores_unknown_fields(org, query):
    agent = org.register()
    body = sample_push(containers=[container("c1", "a", gpuPercent=3, labels={"x": "y"})], kernel="6.1")
    assert org.push(agent, body).status_code == 200
    assert stored.count(query) == 1


def test_push_accepts_timestamps_with_offsets(org, query):
    agent = org.register()
    assert org.push(agent, sample_push("2026-06-16T12:00:00.750+02:00")).status_code == 200
    assert query("SELECT ts FROM pushes")[0][0] == 1781604000


BAD_PUSHES = [
    ("missing timestamp", {"containers": []}, ["timestamp"]),
    ("timestamp without offset", {"timestamp": "2026-06-16T10:00:00", "containers": []}, ["timestamp"]),
    ("timestamp not a date", {"timestamp": "yesterday", "containers": []}, ["timestamp"]),
    ("timestamp a number", {"timestamp": 1781604000, "containers": []}, ["timestamp"]),
    ("missing containers", {"timestamp": "2026-06-16T10:00:00Z"}, ["containers"]),
    ("containers not an array", {"timestamp": "2026-06-16T10:00:00Z", "containers": {"id": "x"}}, ["containers"]),
    ("containers null", {"timestamp": "2026-06-16T10:00:00Z", "containers": None}, ["containers"]),
    ("nodes not an array", sample_push(nodes="node-1"), ["nodes"]),
    ("pods not an array", sample_push(pods={"name": "p"}), ["pods"]),
    ("container not an object", sample_push(containers=["c1"]), ["containers", "0"]),
    ("container id missing", sample_push(containers=[{"name": "a"}]), ["containers", "0", "id"]),
    ("container id empty", sample_push(containers=[container("", "a")]), ["containers", "0", "id"]),
    ("container id too long", sample_push(containers=[container("x" * 129, "a")]), ["containers", "0", "id"]),
    ("container name missing", sample_push(containers=[{"id": "c1"}]), ["containers", "0", "name"]),
    ("cpu as a string", sample_push(containers=[container("c1", "a", cpuPercent="12.4")]), ["containers", "0", "cpuPercent"]),
    ("cpu as a boolean", sample_push(containers=[container("c1", "a", cpuPercent=True)]), ["containers", "0", "cpuPercent"]),
    ("fractional counter", sample_push(containers=[container("c1", "a", networkRxBytes=1.5)]), ["containers", "0", "networkRxBytes"]),
    ("duplicate container id", sample_push(containers=[container("c1", "a"), container("c1", "b")]), ["containers", "1", "id"]),
    ("node without name", sample_push(nodes=[{"status": "Ready"}]), ["nodes", "0", "name"]),
    ("node status unknown", sample_push(nodes=[{"name": "n", "status": "Fine"}]), ["nodes", "0", "status"]),
    ("duplicate node", sample_push(nodes=[{"name": "n"}, {"name": "n"}]), ["nodes", "1", "name"]),
    ("pod without namespace", sample_push(pods=[{"name": "p"}]), ["pods", "0", "namespace"]),
    ("pod ready not a boolean", sample_push(pods=[{"name": "p", "namespace": "n", "ready": "yes"}]), ["pods", "0", "ready"]),
    ("pod phase unknown", sample_push(pods=[{"name": "p", "namespace": "n", "phase": "Sleeping"}]), ["pods", "0", "phase"]),
    ("duplicate pod", sample_push(pods=[{"name": "p", "namespace": "n"}, {"name": "p", "namespace": "n"}]), ["pods", "1", "name"]),
    ("body an array", [sample_push()], ["_schema"]),
]


@pytest.mark.parametrize("case, body, path", BAD_PUSHES, ids=[c[0] for c in BAD_PUSHES])
def test_push_rejects_bad_bodies_field_by_field_and_stores_nothing(org, query, case, body, path):
    agent = org.register()
    response = org.push(agent, body)
    assert response.status_code == 400, case
    assert response.content_type == "application/json"
    errors = response.json["errors"]["json"]
    for step in path:
        errors = errors[step]
    assert errors
    assert [query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in METRIC_TABLES] == [0] * len(METRIC_TABLES)
    assert sample_counts(query) == [0, 0, 0]
    assert org.agents().json[0]["status"] == "pending"


def test_push_with_nan_stores_it_as_not_measured(client, org, query):
    agent = org.register()
    raw = '{"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": "c", "name": "n", "cpuPercent": NaN}]}'
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", data=raw,
                           content_type="application/json", headers=bearer(agent["token"]))
    assert response.status_code == 200
    [(_, _, values)] = stored.samples(query)
    assert values[0] is None  # cpuPercent: not measured (tests/test_impossible_figures.py has the kind)


def test_push_with_malformed_json_is_400(client, org):
    agent = org.register()
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", data='{"timestamp": ',
                           content_type="application/json", headers=bearer(agent["token"]))
    assert response.status_code == 400
    assert response.json["code"] == 400


@pytest.mark.parametrize("age, status", [(None, "pending"), (0, "connected"), (45, "connected"),
                                         (46, "disconnected"), (3600, "disconnected")])
def test_status_follows_last_seen_within_three_intervals(app, org, monkeypatch, age, status):
    from types import SimpleNamespace

    from sqlalchemy import text

    from kubewatch.api import agents as agents_api
    from kubewatch.db import write

    now = 1_800_000_000
    agent = org.register()
    if age is not None:
        org.push(agent)
        with app.app_context(), write() as conn:
            conn.execute(text("UPDATE agents SET last_seen = :t"), {"t": now - age})
    monkeypatch.setattr(agents_api, "time", SimpleNamespace(time=lambda: now))  # the clock stands still
    [listed] = org.agents().json
    assert listed["status"] == status
    assert (listed["lastSeen"] is None) == (age is None)


def test_list_is_a_bare_array_of_the_documented_fields(org):
    org.push(org.register())
    listed = org.agents().json
    assert isinstance(listed, list)
    assert list(listed[0]) == ["id", "name", "platform", "hostname", "version", "lastSeen", "status",
                               "containerCount", "runningCount", "stoppedCount", "restartedAt"]
    assert listed[0]["name"] == "prod-web" and listed[0]["hostname"] == "prod-web-01"


def test_list_shows_only_the_callers_organization(org, other_org):
    mine = org.register(name="mine")
    other_org.register(name="theirs")
    assert [a["id"] for a in org.agents().json] == [mine["agentId"]]
    assert [a["name"] for a in other_org.agents().json] == ["theirs"]


def test_admins_and_viewers_may_list(org):
    org.register()
    assert org.agents(org.admin).status_code == 200
    assert org.agents(org.viewer).status_code == 200


def test_delete_answers_204_and_removes_every_metric(app, client, org, query):
    from kubewatch import rollup_job

    agent = org.register()
    keep = org.register(name="keep")
    body = sample_push(containers=[container("c1", "a")], nodes=[{"name": "n1"}], pods=[{"name": "p", "namespace": "ns"}])
    org.push(agent, body)
    org.push(keep, body)
    with app.app_context():  # so that the rollup tiers hold rows of both agents too
        assert rollup_job.run(app.config, int(time.time())).rolled_up == 2

    def rows(agent_id):
        return [query(f"SELECT COUNT(*) FROM {t} WHERE agent_id = :a", a=agent_id)[0][0] for t in METRIC_TABLES]

    # Each: one push; one container, node and pod; a minute and an hour of each of them.
    assert rows(agent["agentId"]) == rows(keep["agentId"]) == [1, 1, 1, 1, 2, 2, 2]
    response = client.delete(f"/api/v1/agents/{agent['agentId']}", headers=bearer(org.admin))
    assert response.status_code == 204
    assert response.data == b""
    assert rows(agent["agentId"]) == [0] * len(METRIC_TABLES)
    assert sample_counts(query, agent["agentId"]) == [0, 0, 0]
    assert rows(keep["agentId"]) == [1, 1, 1, 1, 2, 2, 2]
    assert sample_counts(query, keep["agentId"]) == [1, 1, 1]
    assert [a["id"] for a in org.agents().json] == [keep["agentId"]]


def test_a_deleted_agents_token_is_401_and_stores_nothing(client, org, query):
    agent = org.register()
    client.delete(f"/api/v1/agents/{agent['agentId']}", headers=bearer(org.admin))
    response = org.push(agent)
    assert response.status_code == 401
    assert "register again" in response.json["message"]
    assert query("SELECT COUNT(*) FROM pushes")[0][0] == 0


def test_delete_by_a_viewer_is_403(client, org):
    agent = org.register()
    response = client.delete(f"/api/v1/agents/{agent['agentId']}", headers=bearer(org.viewer))
    assert response.status_code == 403
    assert len(org.agents().json) == 1


@pytest.mark.parametrize("whose", ["other org", "unknown"])
def test_delete_of_another_orgs_or_unknown_agent_is_404(client, org, other_org, whose):
    agent_id = other_org.register()["agentId"] if whose == "other org" else "agent_00000000"
    response = client.delete(f"/api/v1/agents/{agent_id}", headers=bearer(org.admin))
    assert response.status_code == 404
    assert response.json["message"] == f"Agent {agent_id} doesn't exist."
    if whose == "other org":
        assert len(other_org.agents().json) == 1
