"""Hostile push bodies: each is stored whole or answered 400 with nothing stored, never a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stored
from conftest import bearer
from kubewatch.kinds import CONTAINERS

STORE_TABLES = ["pushes", "containers", "nodes", "pods", "container_rollups", "node_rollups", "pod_rollups"]
KINDS = ["containers", "nodes", "pods"]


def post_raw(client, agent, raw):
    return client.post(f"/api/v1/agents/{agent['agentId']}/push", data=raw, content_type="application/json",
                       headers=bearer(agent["token"]))


def counts(query):
    """Return the rows of each table that stores pushes, then the samples of each kind packed in the pushes."""
    return ([query(f"SELECT COUNT(*) FROM {table}")[0][0] for table in STORE_TABLES]
            + [stored.count(query, kind) for kind in KINDS])


@pytest.mark.parametrize("raw, where", [
    ('{"timestamp": "2026-06-16T10:00:00Z", "containers": ' + "[" * 50000 + "]" * 50000 + "}", "json"),
    ('{"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": "c", "name": "n", "restartCount": 1e3}]}', "restartCount"),
    ('{"timestamp": "9999-99-99T00:00:00Z", "containers": []}', "timestamp"),
    ('{"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": "c", "name": "a"}, {"id": "c", "name": "b"}]}', "containers"),
    (b'{"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": "\xff\xfe", "name": "n"}]}', "json"),
])
def test_hostile_bodies_are_400_and_store_nothing(client, org, query, raw, where):
    agent = org.register()
    response = post_raw(client, agent, raw)
    assert response.status_code == 400
    assert response.content_type == "application/json"
    assert where in json.dumps(response.json["errors"])
    assert counts(query) == [0] * (len(STORE_TABLES) + len(KINDS))


def test_10000_containers_in_one_push_are_all_stored(client, org, query):
    agent = org.register()
    containers = [{"id": f"{i:012x}", "name": f"c{i}", "cpuPercent": 0.5, "restartCount": i} for i in range(10_000)]
    response = org.push(agent, {"timestamp": "2026-06-16T10:00:00Z", "containers": containers})
    assert response.status_code == 200
    samples = stored.samples(query)
    restart_count = CONTAINERS.measured.index("restart_count")
    assert (len(samples), sum(values[restart_count] for _, _, values in samples)) == (10_000, sum(range(10_000)))
    assert org.agents().json[0]["containerCount"] == 10_000


def test_unicode_names_are_stored_exactly(client, org, query):
    agent = org.register(name="ноутбук-🚀", hostname="主机")
    names = ["nginx-ü", "数据库", "🐳 whale", "a\u0301", "\u202eevil"]
    containers = [{"id": f"id-{i}", "name": name, "image": f"img/{name}"} for i, name in enumerate(names)]
    assert org.push(agent, {"timestamp": "2026-06-16T10:00:00Z", "containers": containers}).status_code == 200
    assert sorted(r[0] for r in query("SELECT name FROM containers")) == sorted(names)
    listed = org.agents().json[0]
    assert (listed["name"], listed["hostname"]) == ("ноутбук-🚀", "主机")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)
FIELDS = ["id", "name", "image", "status", "cpuPercent", "memoryMB", "memoryLimitMB", "networkRxBytes",
          "networkTxBytes", "restartCount"]
containers_ish = st.lists(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=10), max_size=5)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"timestamp": st.one_of(json_values, st.just("2026-06-16T10:00:00Z")),
                           "containers": st.one_of(json_values, containers_ish)},
                          optional={"nodes": json_values, "pods": json_values}),
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(body=bodies)
def test_any_json_body_is_stored_whole_or_refused_whole(client, org, query, body):
    agent = org.register()  # the same agent every time: registering again keeps its id
    before = counts(query)
    response = post_raw(client, agent, json.dumps(body, allow_nan=True))
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    assert response.content_type == "application/json"
    after = counts(query)
    if response.status_code == 400:
        assert after == before
    else:
        assert after[0] in (before[0], before[0] + 1)  # one push, or a retry of one already stored


@pytest.mark.parametrize("endpoint", ["push", "register", "login"])
def test_a_lone_surrogate_escape_is_400_not_a_crash(client, org, query, endpoint):
    agent = org.register()
    raw = '"x\\ud800"'
    if endpoint == "push":
        response = post_raw(client, agent, '{"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": "c", "name": ' + raw + "}]}")
    elif endpoint == "register":
        response = client.post("/api/v1/agents/register", data='{"name": ' + raw + ', "hostname": "h"}',
                               content_type="application/json", headers={"X-API-Key": org.api_key})
    else:
        response = client.post("/api/v1/auth/login", data='{"email": ' + raw + ', "password": "xxxxxxxx"}',
                               content_type="application/json")
    assert response.status_code == 400
    assert response.json["code"] == 400
    assert counts(query) == [0] * (len(STORE_TABLES) + len(KINDS))


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/agents/register"])
def test_an_integer_of_thousands_of_digits_is_400(client, org, path):
    response = client.post(path, data='{"email": ' + "9" * 5000 + "}", content_type="application/json",
                           headers={"X-API-Key": org.api_key})
    assert response.status_code == 400
    assert response.json["errors"] == {"json": ["Invalid JSON body."]}


def test_a_push_dated_far_ahead_of_the_server_is_400_and_stores_nothing(client, org, query):
    import time
    agent = org.register()
    ahead = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    response = org.push(agent, {"timestamp": ahead, "containers": [{"id": "c", "name": "n"}]})
    assert response.status_code == 400
    assert "timestamp" in response.json["errors"]["json"]
    assert counts(query) == [0] * (len(STORE_TABLES) + len(KINDS))
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))  # a little skew is fine
    assert org.push(agent, {"timestamp": soon, "containers": []}).status_code == 200
