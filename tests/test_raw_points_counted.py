"""A raw series counts its samples against the 10,000-point limit: agents may push every second."""

import pytest
from sqlalchemy import text

from conftest import bearer, container
from kubewatch import packing
from kubewatch.api.fields import EpochTime
from kubewatch.db import db
from kubewatch.kinds import CONTAINERS

BASE = 1781604000  # 2026-06-16T10:00:00Z


def pushed_every_second(app, org, seconds):
    """Store `seconds` pushes of container c1, one a second from BASE, as the push path packs them."""
    agent = org.register()
    assert org.push(agent, {"timestamp": EpochTime.format(BASE), "containers": [container("c1", "web")]}).json == {
        "ok": True}
    blob = packing.pack(CONTAINERS.metrics, [1], [(1.0, 2.0, 3.0, 4, 5, 0)])
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("INSERT INTO pushes (agent_id, ts, received_at, containers) VALUES (:a, :ts, :ts, :blob)"),
                     [{"a": agent["agentId"], "ts": BASE + i, "blob": blob} for i in range(1, seconds)])
    return agent


def raw(client, org, agent, start, end):
    return client.get(f"/api/v1/agents/{agent['agentId']}/containers/c1/metrics", headers=bearer(org.viewer),
                      query_string={"from": EpochTime.format(start), "to": EpochTime.format(end)})


def test_25000_pushes_a_second_apart_are_400_not_25000_points(app, client, org):
    agent = pushed_every_second(app, org, 25_000)
    response = raw(client, org, agent, BASE, BASE + 25_000)
    assert response.status_code == 400
    assert "more than 10000 points" in response.json["message"]


@pytest.mark.parametrize("points, status", [(10_000, 200), (10_001, 400)])
def test_10000_raw_points_are_answered_and_10001_are_400(app, client, org, points, status):
    agent = pushed_every_second(app, org, 12_000)
    response = raw(client, org, agent, BASE, BASE + points - 1)  # both ends included
    assert response.status_code == status
    if status == 200:
        assert len(response.json["points"]) == 10_000 and response.json["resolution"] == "raw"


def test_a_sample_before_the_range_still_seeds_the_first_rate(app, client, org):
    agent = pushed_every_second(app, org, 100)
    points = raw(client, org, agent, BASE + 10, BASE + 20).json["points"]
    assert len(points) == 11 and points[0]["networkRxBytesPerSec"] == 0
