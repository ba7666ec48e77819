"""Reading an agent back over the API (kubewatch/api/metrics.py): its detail, the objects of its latest push,
their series; who may read them, and every query parameter of the series endpoints."""

import time
from datetime import datetime
from types import SimpleNamespace

import pytest

from conftest import Org, fresh_config, bearer, container
from kubewatch import create_app
from kubewatch.api.fields import EpochTime, QueryTime
from kubewatch.db import db

HOUR, DAY = 3600, 86400
NODE = {"name": "node-1", "status": "Ready", "kubeletVersion": "v1.30.2", "cpuCores": 4.0, "cpuPercent": 35.5,
        "memoryMB": 2048.5, "memoryCapacityMB": 7961.6, "podCount": 12, "podCapacity": 110,
        "networkRxBytes": 1000, "networkTxBytes": 2000, "fsUsedBytes": 5 * 2 ** 30, "fsCapacityBytes": 50 * 2 ** 30}
POD = {"name": "api-7d9f", "namespace": "shop", "uid": "u-1", "nodeName": "node-1", "phase": "Running", "ready": True,
       "containerCount": 2, "readyContainers": 2, "restartCount": 1, "cpuPercent": 12.5, "memoryMB": 256.0,
       "memoryLimitMB": 512.0, "networkRxBytes": 300, "networkTxBytes": 600}
WORKER = {**POD, "name": "worker", "namespace": "jobs", "uid": "u-2", "ready": False, "readyContainers": 1}


def push(org, agent, ts, containers=(), nodes=(), pods=()):
    response = org.push(agent, {"timestamp": EpochTime.format(ts), "containers": list(containers),
                                "nodes": list(nodes), "pods": list(pods)})
    assert response.status_code == 200, response.json


def get(org, path, token=None, **query):
    return org.client.get(path, query_string=query, headers=bearer(token or org.viewer))


def epoch(iso):
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def latest_push_time():
    """Ten minutes ago or a little more, so that the push 15 s before it is in the same hour."""
    latest = int(time.time()) - 600
    return latest - 60 if latest % HOUR < 60 else latest


def pushed_agent(org, latest):
    """An agent that pushed twice, 15 s apart; c1's rx counter went down (a reset), "gone" left, c2 came."""
    agent = org.register(platform="kubernetes")
    push(org, agent, latest - 15,
         [container("c1", "web", networkRxBytes=1000, networkTxBytes=500), container("gone", "old")],
         [NODE], [POD, WORKER])
    push(org, agent, latest,
         [container("c1", "web", image="nginx:1.26", cpuPercent=20.5, networkRxBytes=400, networkTxBytes=800),
          container("c2", "batch", status="exited", networkRxBytes=None)],
         [{**NODE, "cpuPercent": 40.5, "networkRxBytes": 2500, "networkTxBytes": 2000}],
         [{**POD, "networkRxBytes": 450, "restartCount": 2}, WORKER])
    return agent


@pytest.fixture(scope="module")
def world(db_engine):
    """One app for the tests that only read: two organizations (signing in is slow on purpose) and an agent."""
    app = create_app(fresh_config())
    client = app.test_client()
    world = SimpleNamespace(org=Org(app, client, "acme"), other=Org(app, client, "globex"), latest=latest_push_time())
    world.agent = pushed_agent(world.org, world.latest)
    yield world
    with app.app_context():
        db.engine.dispose()


# In this module org, other_org and agent are the shared world's, which no test changes;
# a test that pushes or registers builds its own with `fresh`.

@pytest.fixture
def org(world):
    return world.org


@pytest.fixture
def other_org(world):
    return world.other


@pytest.fixture
def agent(world):
    return world.agent


@pytest.fixture
def latest(world):
    return world.latest


@pytest.fixture
def fresh(app, client):
    """An organization of a new app of its own, with the agent of pushed_agent: (org, agent, latest)."""
    org, latest = Org(app, client, "acme"), latest_push_time()
    return org, pushed_agent(org, latest), latest


def url(agent, path=""):
    return f"/api/v1/agents/{agent['agentId']}{path}"


# The agent's detail

def test_agent_detail_is_the_list_item_plus_creation_push_interval_and_counts(org, agent, latest):
    [listed] = org.agents().json
    detail = get(org, url(agent))
    assert detail.status_code == 200
    assert list(detail.json) == [*listed, "createdAt", "pushIntervalSeconds", "nodeCount", "podCount",
                                 "clockSkewSeconds"]
    assert detail.json == {**listed, "createdAt": detail.json["createdAt"], "pushIntervalSeconds": 15,
                           "nodeCount": 1, "podCount": 2, "clockSkewSeconds": detail.json["clockSkewSeconds"]}
    # Pushed without a Date header, stamped ten minutes ago (eleven in an hour's first minute, see
    # latest_push_time): as far as the server can tell, a clock behind by as much.
    assert latest - time.time() - 1 <= detail.json["clockSkewSeconds"] <= -600
    assert (listed["status"], listed["containerCount"], listed["platform"]) == ("connected", 2, "kubernetes")
    assert abs(epoch(detail.json["createdAt"]) - time.time()) < 60
    assert get(org, url(agent), token=org.admin).json == detail.json


def test_an_agent_that_never_pushed_is_pending_with_no_counts(fresh):
    org, _, _ = fresh
    agent = org.register(name="quiet")
    detail = get(org, url(agent)).json
    assert (detail["status"], detail["lastSeen"], detail["containerCount"], detail["nodeCount"],
            detail["podCount"]) == ("pending", None, 0, 0, 0)
    for path in ("/containers", "/nodes", "/pods"):
        assert get(org, url(agent, path)).json == []


# The objects of the latest push

def test_containers_are_those_of_the_latest_push_as_pushed_with_rates_and_last_seen(org, agent, latest):
    response = get(org, url(agent, "/containers"))
    assert response.status_code == 200
    listed = {c["id"]: c for c in response.json}
    assert sorted(listed) == ["c1", "c2"]  # "gone" was only in the push before
    assert listed["c1"] == {"id": "c1", "name": "web", "image": "nginx:1.26", "status": "running",
                            "health": None, "exitCode": None, "oomKilled": None,
                            "cpuPercent": 20.5, "memoryMB": 48.0, "memoryLimitMB": 512.0,
                            "networkRxBytes": 400, "networkRxBytesPerSec": 26.7,  # reset: 400 / 15, to 1 decimal
                            "networkTxBytes": 800, "networkTxBytesPerSec": 20.0, "restartCount": 0,
                            "lastSeen": EpochTime.format(latest), "recentRestarts": 0, "stoppedAt": None}
    assert list(listed["c1"]) == ["id", "name", "image", "status", "health", "exitCode", "oomKilled", "cpuPercent",
                                  "memoryMB", "memoryLimitMB", "networkRxBytes", "networkRxBytesPerSec", "networkTxBytes",
                                  "networkTxBytesPerSec", "restartCount", "lastSeen", "recentRestarts", "stoppedAt"]
    # New in the latest push: no rate yet; a counter not measured stays null.
    assert (listed["c2"]["status"], listed["c2"]["networkRxBytes"], listed["c2"]["networkRxBytesPerSec"],
            listed["c2"]["networkTxBytesPerSec"]) == ("exited", None, None, None)


def test_a_counter_that_went_down_between_the_last_two_pushes_is_a_reset_not_a_negative_rate(org, agent):
    [c1] = [c for c in get(org, url(agent, "/containers")).json if c["id"] == "c1"]
    assert c1["networkRxBytesPerSec"] == 26.7  # 400 / 15, to 1 decimal
    assert c1["networkRxBytesPerSec"] >= 0


@pytest.mark.parametrize("status, expected", [("running", ["c1"]), ("exited", ["c2"]), ("paused", [])])
def test_the_status_parameter_keeps_only_containers_in_that_state(org, agent, status, expected):
    response = get(org, url(agent, "/containers"), status=status)
    assert response.status_code == 200
    assert [c["id"] for c in response.json] == expected


def test_a_push_without_containers_empties_the_list(fresh):
    org, agent, latest = fresh
    push(org, agent, latest + 15, [], [NODE])
    assert get(org, url(agent, "/containers")).json == []
    assert [n["name"] for n in get(org, url(agent, "/nodes")).json] == ["node-1"]
    assert get(org, url(agent, "/pods")).json == []


def test_an_older_push_arriving_late_changes_none_of_the_lists(fresh):
    org, agent, latest = fresh
    before = {path: get(org, url(agent, path)).json for path in ("", "/containers", "/nodes", "/pods")}
    push(org, agent, latest - 600, [container("c1", "web", image="nginx:1.24", status="exited")], [], [])
    after = {path: get(org, url(agent, path)).json for path in ("", "/containers", "/nodes", "/pods")}
    assert {path: answer for path, answer in after.items() if path} == {
        path: answer for path, answer in before.items() if path}
    assert {k: v for k, v in after[""].items() if k != "lastSeen"} == {
        k: v for k, v in before[""].items() if k != "lastSeen"}


def test_nodes_are_listed_as_last_pushed_with_rates(org, agent, latest):
    response = get(org, url(agent, "/nodes"))
    assert response.status_code == 200
    assert response.json == [{**NODE, "cpuPercent": 40.5, "networkRxBytes": 2500, "networkRxBytesPerSec": 100.0,
                              "networkTxBytesPerSec": 0.0, "lastSeen": EpochTime.format(latest)}]


def test_pods_are_listed_as_last_pushed_and_the_namespace_parameter_filters(org, agent, latest):
    pods = get(org, url(agent, "/pods")).json
    assert sorted((p["namespace"], p["name"]) for p in pods) == [("jobs", "worker"), ("shop", "api-7d9f")]
    [shop] = get(org, url(agent, "/pods"), namespace="shop").json
    assert shop == {**POD, "networkRxBytes": 450, "networkRxBytesPerSec": 10.0, "networkTxBytesPerSec": 0.0,
                    "restartCount": 2, "lastSeen": EpochTime.format(latest), "recentRestarts": 1}
    [jobs] = get(org, url(agent, "/pods"), namespace="jobs").json
    assert jobs["ready"] is False and jobs["readyContainers"] == 1
    assert get(org, url(agent, "/pods"), namespace="kube-system").json == []


# Series of nodes and pods

def test_a_node_series_has_one_raw_point_per_push_with_the_push_fields(org, agent, latest):
    answer = get(org, url(agent, "/nodes/node-1/metrics")).json
    assert (answer["resolution"], answer["step"]) == ("raw", None)
    assert answer["points"] == [
        {"t": EpochTime.format(latest - 15), "cpuPercent": 35.5, "memoryMB": 2048.5, "podCount": 12,
         "networkRxBytesPerSec": None, "networkTxBytesPerSec": None, "fsUsedBytes": 5 * 2 ** 30,
         "fsCapacityBytes": 50 * 2 ** 30},
        {"t": EpochTime.format(latest), "cpuPercent": 40.5, "memoryMB": 2048.5, "podCount": 12,
         "networkRxBytesPerSec": 100.0, "networkTxBytesPerSec": 0.0, "fsUsedBytes": 5 * 2 ** 30,
         "fsCapacityBytes": 50 * 2 ** 30}]


def test_a_node_series_with_a_step_has_averages_maxima_rates_and_last_values(org, agent, latest):
    answer = get(org, url(agent, "/nodes/node-1/metrics"), step="1d",
                 **{"from": EpochTime.format(latest - HOUR)}).json
    assert (answer["resolution"], answer["step"]) == ("1h", DAY)
    [point] = answer["points"]
    assert point == {"t": EpochTime.format(latest - latest % DAY), "cpuPercent": 38.0, "cpuPercentMax": 40.5,
                     "memoryMB": 2048.5, "memoryMBMax": 2048.5, "podCount": 12.0, "podCountMax": 12,
                     "networkRxBytesPerSec": 100.0, "networkTxBytesPerSec": 0.0, "fsUsedBytes": 5 * 2 ** 30,
                     "fsUsedBytesMax": 5 * 2 ** 30, "fsCapacityBytes": 50 * 2 ** 30}


def test_a_pod_series_raw_and_with_a_step(org, agent, latest):
    raw = get(org, url(agent, "/pods/shop/api-7d9f/metrics")).json
    assert (raw["resolution"], len(raw["points"])) == ("raw", 2)
    assert raw["points"][1] == {"t": EpochTime.format(latest), "cpuPercent": 12.5, "memoryMB": 256.0,
                                "memoryLimitMB": 512.0, "networkRxBytesPerSec": 10.0, "networkTxBytesPerSec": 0.0,
                                "restartCount": 2}
    stepped = get(org, url(agent, "/pods/shop/api-7d9f/metrics"), step="30s",
                  **{"from": EpochTime.format(latest - 60), "to": EpochTime.format(latest)}).json
    assert (stepped["resolution"], stepped["step"]) == ("raw", 30)
    last = stepped["points"][-1]
    assert set(last) == {"t", "cpuPercent", "cpuPercentMax", "memoryMB", "memoryMBMax", "memoryLimitMB",
                         "networkRxBytesPerSec", "networkTxBytesPerSec", "restartCount"}
    assert (last["restartCount"], last["cpuPercentMax"], last["memoryLimitMB"]) == (2, 12.5, 512.0)
    assert get(org, url(agent, "/pods/jobs/worker/metrics")).status_code == 200


# Who may read

READS = ["", "/containers", "/containers/c1/metrics", "/nodes", "/nodes/node-1/metrics", "/pods",
         "/pods/shop/api-7d9f/metrics"]


def assert_error_shape(response, code):
    assert response.status_code == code, response.json
    assert response.json["code"] == code and isinstance(response.json["message"], str)
    assert set(response.json) <= {"code", "status", "message", "errors"}


@pytest.mark.parametrize("path", READS)
def test_viewers_and_admins_of_the_agents_organization_may_read(org, agent, path):
    assert get(org, url(agent, path)).status_code == 200
    assert get(org, url(agent, path), token=org.admin).status_code == 200


@pytest.mark.parametrize("path", READS)
def test_another_organizations_agent_is_404(org, other_org, agent, path):
    for token in (other_org.viewer, other_org.admin):
        response = get(other_org, url(agent, path), token=token)
        assert_error_shape(response, 404)
        assert response.json["status"] == "Not Found"


@pytest.mark.parametrize("path", READS)
def test_an_unknown_agent_is_404(org, agent, path):
    assert_error_shape(get(org, f"/api/v1/agents/agent_00000000{path}"), 404)


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}],
                         ids=["none", "garbage", "basic"])
def test_reading_without_a_user_token_is_401(org, agent, path, headers):
    response = org.client.get(url(agent, path), headers=headers)
    assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", READS)
def test_an_agent_token_cannot_read(org, agent, path):
    assert_error_shape(get(org, url(agent, path), token=agent["token"]), 401)


@pytest.mark.parametrize("path", ["/containers/nope/metrics", "/containers/gone-forever/metrics",
                                  "/nodes/nope/metrics", "/pods/shop/nope/metrics", "/pods/nope/api-7d9f/metrics"])
def test_an_unknown_container_node_or_pod_is_404(org, agent, path):
    response = get(org, url(agent, path))
    assert_error_shape(response, 404)
    assert "nope" in response.json["message"] or "gone-forever" in response.json["message"]


def test_a_container_of_another_agent_of_the_same_organization_is_404(fresh):
    org, agent, _ = fresh
    other = org.register(name="other")
    push(org, other, int(time.time()) - 60, [container("only-here", "x")])
    assert get(org, url(other, "/containers/only-here/metrics")).status_code == 200
    assert_error_shape(get(org, url(agent, "/containers/only-here/metrics")), 404)


# The series endpoints' query parameters

SERIES = ["/containers/c1/metrics", "/nodes/node-1/metrics", "/pods/shop/api-7d9f/metrics"]
BAD_FIELDS = [
    ({"from": "2026-06-16T11:00:00Z", "to": "2026-06-16T10:00:00Z"}, "from"),
    ({"from": "2026-06-16T10:00:00+02:00", "to": "2026-06-16T07:59:59Z"}, "from"),  # 08:00 UTC
    ({"from": "yesterday"}, "from"),
    ({"from": "2026-06-16T10:00:00"}, "from"),  # no offset
    ({"from": "2026-06-16"}, "from"),
    ({"from": "1781604000"}, "from"),
    ({"to": "16/06/2026 10:00"}, "to"),
    ({"to": "16/06/2026"}, "to"),
    ({"to": "2026-06-16 10:00"}, "to"),
    ({"to": "2026-06-16T10:00:00"}, "to"),
    ({"step": "5x"}, "step"),
    ({"step": "1w"}, "step"),
    ({"step": "5M"}, "step"),
    ({"step": "m"}, "step"),
    ({"step": ""}, "step"),
    ({"step": "0"}, "step"),
    ({"step": "0s"}, "step"),
    ({"step": "0h"}, "step"),
    ({"step": "-60"}, "step"),
    ({"step": "-1m"}, "step"),
    ({"step": "1.5m"}, "step"),
]


@pytest.mark.parametrize("series", SERIES)
@pytest.mark.parametrize("query, field", BAD_FIELDS)
def test_a_bad_series_parameter_is_400_naming_it(org, agent, series, query, field):
    response = get(org, url(agent, series), **query)
    assert_error_shape(response, 400)
    assert response.json["status"] == "Bad Request"
    assert list(response.json["errors"]["query"]) == [field]


@pytest.mark.parametrize("series", SERIES)
def test_a_from_equal_to_to_is_a_range_of_one_instant(org, agent, latest, series):
    at = EpochTime.format(latest)
    response = get(org, url(agent, series), **{"from": at, "to": at})
    assert response.status_code == 200
    assert [p["t"] for p in response.json["points"]] == [at]


def test_from_alone_reaches_to_now_and_to_alone_starts_an_hour_before(org, agent, latest):
    from_only = get(org, url(agent, SERIES[0]), **{"from": EpochTime.format(latest - 15)}).json
    assert len(from_only["points"]) == 2
    to_only = get(org, url(agent, SERIES[0]), to=EpochTime.format(latest - 1)).json
    assert [p["t"] for p in to_only["points"]] == [EpochTime.format(latest - 15)]
    assert get(org, url(agent, SERIES[0]), to=EpochTime.format(latest - HOUR - 15 - 1)).json["points"] == []


def too_many_points(response):
    assert_error_shape(response, 400)
    assert "errors" not in response.json
    return "more than 10000 points" in response.json["message"]


@pytest.mark.parametrize("series", SERIES)
def test_more_than_10000_buckets_is_400_and_10000_are_answered(org, agent, latest, series):
    start = latest - latest % 60 - 20_000 * 60

    def ask(step, seconds):
        return get(org, url(agent, series), step=step,
                   **{"from": EpochTime.format(start), "to": EpochTime.format(start + seconds)})

    answered = ask("60", 9_999 * 60)  # buckets start, start + 60, ..., start + 9,999 min: 10,000
    assert answered.status_code == 200 and answered.json["step"] == 60
    assert too_many_points(ask("60", 10_000 * 60))
    assert too_many_points(ask("1s", 10_000))


def test_a_raw_range_is_answered_by_its_samples_not_by_the_push_interval(org, agent, latest):
    # Two samples 15 s apart in a range that could hold 100,000 at one push per 15 s: they are answered.
    response = get(org, url(agent, SERIES[0]), **{"from": EpochTime.format(latest - 15 * 100_000),
                                                   "to": EpochTime.format(latest + 1)})
    assert response.status_code == 200 and response.json["resolution"] == "raw"
    assert len(response.json["points"]) == 2


@pytest.mark.parametrize("series", SERIES)
def test_an_offset_typed_with_an_unencoded_plus_reads_as_the_plus_it_was(org, agent, latest, series):
    start, end = EpochTime.format(latest - HOUR)[:-1], EpochTime.format(latest + 60)[:-1]
    typed = org.client.get(f"{url(agent, series)}?from={start}+00:00&to={end}+00:00", headers=bearer(org.viewer))
    encoded = get(org, url(agent, series), **{"from": f"{start}+00:00", "to": f"{end}+00:00"})
    assert (typed.status_code, encoded.status_code) == (200, 200)
    assert typed.json == encoded.json and typed.json["points"]


@pytest.mark.parametrize("typed", ["2026-06-16T10:00:00+02:00", "2026-06-16T10:00:00.5+0200", "2026-06-16T10:00+02"])
def test_a_space_where_the_offset_sign_belongs_is_a_plus(typed):
    assert QueryTime(format="iso").deserialize(typed.replace("+", " ")) == QueryTime(format="iso").deserialize(typed)


def test_derived_figures_come_rounded_percent_and_mib_to_2_decimals_rates_to_1(fresh):
    org, _, latest = fresh
    agent = org.register(name="noisy")
    # Averages of these carry float noise: (50.1 + 50.1 + 50.1) / 3 is 50.099999999999994.
    for index, offset in enumerate((-45, -30, -15)):
        push(org, agent, latest + offset, [container("c1", "web", cpuPercent=50.1, memoryMB=100.1 + index / 3,
                                                     networkRxBytes=1000 * index + index // 2)])
    listed = get(org, url(agent, "/containers")).json[0]
    assert (listed["cpuPercent"], listed["memoryMB"], listed["networkRxBytesPerSec"]) == (50.1, 100.77, 66.7)
    bucket = get(org, url(agent, "/containers/c1/metrics"), step="1h",
                 **{"from": EpochTime.format(latest - 2 * HOUR), "to": EpochTime.format(latest)}).json["points"]
    figures = [value for point in bucket for name, value in point.items() if isinstance(value, float)]
    assert figures and all(value == round(value, 1 if name.endswith("PerSec") else 2)
                           for point in bucket for name, value in point.items() if isinstance(value, float))
    assert [point["cpuPercent"] for point in bucket][-1] == 50.1


def test_health_exit_code_and_oom_kill_are_stored_and_listed_as_pushed(fresh):
    org, _, latest = fresh
    agent = org.register(name="stateful")
    push(org, agent, latest, [container("c1", "web", health="unhealthy"),
                              container("c2", "postgres-main", status="exited", exitCode=137, oomKilled=True,
                                        cpuPercent=None)])
    listed = {c["id"]: c for c in get(org, url(agent, "/containers")).json}
    assert (listed["c1"]["health"], listed["c1"]["exitCode"], listed["c1"]["oomKilled"]) == ("unhealthy", None, None)
    assert (listed["c2"]["health"], listed["c2"]["exitCode"], listed["c2"]["oomKilled"]) == (None, 137, True)


@pytest.mark.parametrize("series", SERIES)
@pytest.mark.parametrize("query, about", [
    ({"from": "2026-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z", "step": "60"}, "points"),
    ({"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "step": "1s"}, "points"),
    ({"from": EpochTime.format(int(time.time()) - 10 ** 9)}, "from"),  # far before any tier, without step
])
def test_a_range_of_too_many_points_or_before_every_tier_is_400_with_the_error_shape(org, agent, series, query, about):
    response = get(org, url(agent, series), **query)
    assert_error_shape(response, 400)
    assert response.json["status"] == "Bad Request"
    if about == "points":
        assert "10000 points" in response.json["message"]
    elif "errors" in response.json:
        assert about in str(response.json["errors"])


# One container's series, pushed at fixed times

BASE = 1781604000  # 2026-06-16T10:00:00Z


@pytest.fixture
def pushed(fresh):
    """An org and an agent with four pushes of one container, 15 s apart; its rx counter resets in the last."""
    org, _, _ = fresh
    agent = org.register(name="four-pushes")
    for i, rx in enumerate([0, 1500, 3000, 600]):
        push(org, agent, BASE + 15 * i, [container("c1", "web", cpuPercent=10.0 * (i + 1), networkRxBytes=rx,
                                                   restartCount=i // 3)])
    return org, agent


def series_of_c1(pushed, **query):
    org, agent = pushed
    response = get(org, url(agent, "/containers/c1/metrics"), **query)
    assert response.status_code == 200, response.json
    return response.json


def test_raw_series_has_one_point_per_sample(pushed):
    body = series_of_c1(pushed, **{"from": EpochTime.format(BASE), "to": EpochTime.format(BASE + 60)})
    assert (body["resolution"], body["step"]) == ("raw", None)
    assert [p["t"] for p in body["points"]] == [EpochTime.format(BASE + 15 * i) for i in range(4)]
    assert [p["cpuPercent"] for p in body["points"]] == [10, 20, 30, 40]
    assert [p["networkRxBytesPerSec"] for p in body["points"]] == [None, 100, 100, 40]  # reset, not negative
    assert set(body["points"][0]) == {"t", "cpuPercent", "memoryMB", "memoryLimitMB", "networkRxBytesPerSec",
                                      "networkTxBytesPerSec", "restartCount"}


def test_a_range_starting_mid_series_still_has_a_rate_for_its_first_point(pushed):
    body = series_of_c1(pushed, **{"from": EpochTime.format(BASE + 15), "to": EpochTime.format(BASE + 60)})
    assert body["points"][0]["networkRxBytesPerSec"] == 100


@pytest.mark.parametrize("step, seconds", [("30", 30), ("30s", 30), ("1m", 60), ("1h", 3600)])
def test_step_series_is_bucketed(pushed, step, seconds):
    body = series_of_c1(pushed, step=step, **{"from": EpochTime.format(BASE), "to": EpochTime.format(BASE + 60)})
    assert body["step"] == seconds
    assert body["points"][0]["t"] == EpochTime.format(BASE - BASE % seconds)
    assert max(p["cpuPercentMax"] for p in body["points"]) == 40
    assert set(body["points"][0]) == {"t", "cpuPercent", "cpuPercentMax", "memoryMB", "memoryMBMax", "memoryLimitMB",
                                      "networkRxBytesPerSec", "networkTxBytesPerSec", "restartCount"}


def bucket(t, cpu, cpu_max, rx_rate, restarts):
    return {"t": EpochTime.format(t), "cpuPercent": cpu, "cpuPercentMax": cpu_max, "memoryMB": 48, "memoryMBMax": 48,
            "memoryLimitMB": 512, "networkRxBytesPerSec": rx_rate, "networkTxBytesPerSec": 0, "restartCount": restarts}


@pytest.mark.parametrize("step, resolution, points", [
    # Samples at +0, +15, +30, +45: cpu 10, 20, 30, 40; rx rates -, 100, 100, 40; restarts 0, 0, 0, 1.
    ("30s", "raw", [bucket(BASE, 15, 20, 100, 0), bucket(BASE + 30, 35, 40, 70, 1)]),
    ("1m", "1m", [bucket(BASE, 25, 40, 80, 1)]),
    ("1h", "1h", [bucket(BASE, 25, 40, 80, 1)]),
])
def test_each_bucket_has_averages_maxima_rates_and_last_values(pushed, step, resolution, points):
    body = series_of_c1(pushed, step=step, **{"from": EpochTime.format(BASE), "to": EpochTime.format(BASE + 60)})
    assert (body["resolution"], body["points"]) == (resolution, points)


def test_default_range_is_the_last_hour(fresh):
    org, _, _ = fresh
    agent = org.register(name="hourly")
    now = int(time.time())
    for ts in (now - 7200, now - 60):
        push(org, agent, ts, [container("c1", "web")])
    points = get(org, url(agent, "/containers/c1/metrics")).json["points"]
    assert [p["t"] for p in points] == [EpochTime.format(now - 60)]
