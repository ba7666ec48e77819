"""Reading a container's series back over the API."""

import pytest

from conftest import bearer, container, sample_push

BASE = 1781604000  # 2026-06-16T10:00:00Z


def stamp(ts):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@pytest.fixture
def pushed(org):
    """An agent with four pushes of one container, 15 s apart; its rx counter resets in the last."""
    agent = org.register()
    for i, rx in enumerate([0, 1500, 3000, 600]):
        body = sample_push(stamp(BASE + 15 * i), containers=[container("c1", "web", cpuPercent=10.0 * (i + 1),
                                                                      networkRxBytes=rx, restartCount=i // 3)])
        assert org.push(agent, body).status_code == 200
    return agent


def metrics(client, org, agent_id, container_id="c1", token=None, **query):
    return client.get(f"/api/v1/agents/{agent_id}/containers/{container_id}/metrics", query_string=query,
                      headers=bearer(token or org.viewer))


def test_raw_series_has_one_point_per_sample(client, org, pushed):
    response = metrics(client, org, pushed["agentId"], **{"from": stamp(BASE), "to": stamp(BASE + 60)})
    assert response.status_code == 200
    body = response.json
    assert (body["resolution"], body["step"]) == ("raw", None)
    assert [p["t"] for p in body["points"]] == [stamp(BASE + 15 * i) for i in range(4)]
    assert [p["cpuPercent"] for p in body["points"]] == [10, 20, 30, 40]
    assert [p["networkRxBytesPerSec"] for p in body["points"]] == [None, 100, 100, 40]  # reset, not negative
    assert set(body["points"][0]) == {"t", "cpuPercent", "memoryMB", "memoryLimitMB", "networkRxBytesPerSec",
                                      "networkTxBytesPerSec", "restartCount"}


def test_a_range_starting_mid_series_still_has_a_rate_for_its_first_point(client, org, pushed):
    body = metrics(client, org, pushed["agentId"], **{"from": stamp(BASE + 15), "to": stamp(BASE + 60)}).json
    assert body["points"][0]["networkRxBytesPerSec"] == 100


@pytest.mark.parametrize("step, seconds", [("30", 30), ("30s", 30), ("1m", 60), ("1h", 3600)])
def test_step_series_is_bucketed(client, org, pushed, step, seconds):
    body = metrics(client, org, pushed["agentId"], step=step, **{"from": stamp(BASE), "to": stamp(BASE + 60)}).json
    assert body["step"] == seconds
    assert body["points"][0]["t"] == stamp(BASE - BASE % seconds)
    assert max(p["cpuPercentMax"] for p in body["points"]) == 40
    assert set(body["points"][0]) == {"t", "cpuPercent", "cpuPercentMax", "memoryMB", "memoryMBMax", "memoryLimitMB",
                                      "networkRxBytesPerSec", "networkTxBytesPerSec", "restartCount"}


def bucket(t, cpu, cpu_max, rx_rate, restarts):
    return {"t": stamp(t), "cpuPercent": cpu, "cpuPercentMax": cpu_max, "memoryMB": 48, "memoryMBMax": 48,
            "memoryLimitMB": 512, "networkRxBytesPerSec": rx_rate, "networkTxBytesPerSec": 0, "restartCount": restarts}


@pytest.mark.parametrize("step, resolution, points", [
    # Samples at +0, +15, +30, +45: cpu 10, 20, 30, 40; rx rates -, 100, 100, 40; restarts 0, 0, 0, 1.
    ("30s", "raw", [bucket(BASE, 15, 20, 100, 0), bucket(BASE + 30, 35, 40, 70, 1)]),
    ("1m", "1m", [bucket(BASE, 25, 40, 80, 1)]),
    ("1h", "1h", [bucket(BASE, 25, 40, 80, 1)]),
])
def test_each_bucket_has_averages_maxima_rates_and_last_values(client, org, pushed, step, resolution, points):
    body = metrics(client, org, pushed["agentId"], step=step, **{"from": stamp(BASE), "to": stamp(BASE + 60)}).json
    assert (body["resolution"], body["points"]) == (resolution, points)


def test_default_range_is_the_last_hour(client, org):
    import time
    agent = org.register()
    now = int(time.time())
    for ts in (now - 7200, now - 60):
        org.push(agent, sample_push(stamp(ts), containers=[container("c1", "web")]))
    points = metrics(client, org, agent["agentId"]).json["points"]
    assert [p["t"] for p in points] == [stamp(now - 60)]


@pytest.mark.parametrize("query, field", [
    ({"from": stamp(BASE + 60), "to": stamp(BASE)}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-06-16T10:00:00"}, "to"),
    ({"step": "5x"}, "step"),
    ({"step": "0"}, "step"),
    ({"step": "-1m"}, "step"),
])
def test_bad_query_parameters_are_400(client, org, pushed, query, field):
    response = metrics(client, org, pushed["agentId"], **query)
    assert response.status_code == 400
    assert field in response.json["errors"]["query"]


def test_more_than_10000_buckets_is_400(client, org, pushed):
    query = {"from": stamp(BASE - 86400), "to": stamp(BASE), "step": "1s"}
    response = metrics(client, org, pushed["agentId"], **query)
    assert response.status_code == 400
    assert "10000 points" in response.json["message"]


def test_another_orgs_agent_or_an_unknown_container_is_404(client, org, other_org, pushed):
    assert metrics(client, other_org, pushed["agentId"], token=other_org.viewer).status_code == 404
    assert metrics(client, org, pushed["agentId"], container_id="nope").status_code == 404


def test_reading_needs_a_user_token(client, org, pushed):
    response = client.get(f"/api/v1/agents/{pushed['agentId']}/containers/c1/metrics",
                          headers=bearer(pushed["token"]))
    assert response.status_code == 401
