"""The rollup job: minutes and hours that equal their samples, tiers that agree, restarts, late pushes, retention."""

import time

import pytest

from conftest import Org, TEST_CONFIG, bearer, container
from kubewatch import create_app, rollup_job
from kubewatch.api.fields import EpochTime
from kubewatch.db import db
from kubewatch.repository import rollup_rows

HOUR, DAY = 3600, 86400
RETENTION = {"RAW_RETENTION": 48 * HOUR, "MINUTE_RETENTION": 14 * DAY, "HOUR_RETENTION": 400 * DAY}


@pytest.fixture
def app(tmp_path):
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{tmp_path / 'kubewatch.db'}", **RETENTION))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def now():
    now = int(time.time())
    return now - now % HOUR - 1800  # half past the last hour but one: in the past, ranges in whole hours


def _body(ts, index):
    """A push of two containers; c1's CPU and network counter move, with a counter reset at index 7."""
    return {"timestamp": EpochTime.format(ts), "containers": [
        container("c1", "web", cpuPercent=float(index % 5) * 10, memoryMB=100.0 + index,
                  networkRxBytes=(index - 7) * 150 if index >= 7 else index * 300, restartCount=index // 20),
        container("c2", "db", cpuPercent=None if index % 3 == 0 else 1.5),
    ]}


def _push_all(org, agent, stamps):
    for index, ts in stamps:
        response = org.push(agent, _body(ts, index))
        assert response.status_code == 200, response.json


def _run(app, at):
    with app.app_context():
        return rollup_job.run(app.config, at)


def _series(org, agent, container_id="c1", **query):
    response = org.client.get(f"/api/v1/agents/{agent['agentId']}/containers/{container_id}/metrics",
                              query_string=query, headers=bearer(org.viewer))
    assert response.status_code == 200, response.json
    return response.json


def _approx(points):
    return [{k: pytest.approx(v) if isinstance(v, float) else v for k, v in point.items()} for point in points]


def _rollup_rows(query, step=None):
    where = "" if step is None else f" WHERE step = {step}"
    return [tuple(row) for row in query(f"SELECT * FROM container_rollups{where} ORDER BY agent_id, key, step, bucket")]


def _query(app):
    from sqlalchemy import text

    def run(sql, **params):
        with app.app_context(), db.engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    return run


def test_series_agree_before_between_and_after_rollups(app, now):
    """A query reads raw samples, then minutes and hours as they are rolled up: the points never change."""
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    start = now - 2 * HOUR - 1800  # two and a half hours of pushes, every 15 s
    stamps = list(enumerate(range(start, now - 60, 15)))
    _push_all(org, agent, stamps)
    window = {"from": EpochTime.format(start), "to": EpochTime.format(now)}
    asked = {"1h": "1h", "1m": "1m", "5m": "1m", "30s": "raw", "90s": "raw"}
    before = {step: _series(org, agent, step=step, **window) for step in asked}
    assert all(answer["resolution"] == asked[step] for step, answer in before.items())
    assert len(before["1m"]["points"]) == len({ts // 60 for _, ts in stamps})
    assert len(before["1h"]["points"]) == 3

    _run(app, now - 40 * 60)  # rolls up all but the last 20-odd minutes
    between = {step: _series(org, agent, step=step, **window) for step in asked}
    _run(app, now)
    after = {step: _series(org, agent, step=step, **window) for step in asked}
    for step in asked:
        assert between[step]["points"] == _approx(before[step]["points"]), step
        assert after[step]["points"] == _approx(before[step]["points"]), step

    query = _query(app)
    assert query("SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)]
    assert query("SELECT SUM(samples) FROM container_rollups WHERE step = 60") == [(2 * len(stamps),)]
    assert query("SELECT SUM(samples) FROM container_rollups WHERE step = 3600") == [(2 * len(stamps),)]


def test_a_counter_reset_is_a_restart_in_every_tier_never_a_negative_rate(app, now):
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    start = now - HOUR
    _push_all(org, agent, list(enumerate(range(start, start + 15 * 12, 15))))
    _run(app, now)
    raw = _series(org, agent, **{"from": EpochTime.format(start), "to": EpochTime.format(now)})["points"]
    rates = [point["networkRxBytesPerSec"] for point in raw]
    assert rates[0] is None  # nothing before the first sample
    assert rates[1:7] == [20.0] * 6 and rates[7] == 0.0 and rates[8:] == [10.0] * 4  # reset to 0 at index 7
    minutes = _series(org, agent, step="1m", **{"from": EpochTime.format(start)})["points"]
    # Minutes of rates 20, 20, 20 | 20, 20, 20, 0 (the reset) | 10, 10, 10, 10; the first has no rate.
    assert [point["networkRxBytesPerSec"] for point in minutes] == pytest.approx([20.0, 15.0, 10.0])
    assert all(point["networkRxBytesPerSec"] >= 0 for point in minutes)


def test_the_job_stopped_halfway_and_run_again_counts_nothing_twice(app, now, monkeypatch):
    org = Org(app, app.test_client(), "acme")
    agents = [org.register(name=f"web-{i}") for i in range(3)]
    stamps = list(enumerate(range(now - HOUR, now - 120, 15)))
    for agent in agents:
        _push_all(org, agent, stamps)
    query = _query(app)

    original, calls = rollup_rows.merge_hour, []

    def crash_on_the_second_agent(conn, kind, agent_id, *hour_and_keys):
        calls.append(agent_id)
        if len({*calls}) == 2:
            raise RuntimeError("the process died here")
        return original(conn, kind, agent_id, *hour_and_keys)

    monkeypatch.setattr(rollup_rows, "merge_hour", crash_on_the_second_agent)
    with pytest.raises(RuntimeError):
        _run(app, now)
    # The first agent is done; none of the second's pushes is marked (its minutes written so far are
    # recomputed whole); the third was never reached.
    assert query("SELECT COUNT(DISTINCT agent_id) FROM container_rollups WHERE step = 3600") == [(1,)]
    assert query("SELECT COUNT(*) FROM pushes WHERE rolled_up = 1") == [(len(stamps),)]

    monkeypatch.setattr(rollup_rows, "merge_hour", original)
    _run(app, now)
    once = _rollup_rows(query)
    _run(app, now)
    assert _rollup_rows(query) == once  # a second run changes nothing
    assert query("SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)]
    per_agent = query("SELECT agent_id, step, SUM(samples) FROM container_rollups GROUP BY agent_id, step")
    assert sorted(row[2] for row in per_agent) == [2 * len(stamps)] * 6

    # The same pushes rolled up in one clean run give the very same rows, agent for agent.
    def without_agent(rows):
        return sorted(row[1:] for row in rows)
    by_agent = [[row for row in once if row[0] == agent["agentId"]] for agent in agents]
    assert without_agent(by_agent[0]) == without_agent(by_agent[1]) == without_agent(by_agent[2])


def test_a_late_push_is_counted_at_the_next_run_and_reseeds_the_next_rate(app, now):
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    minute = now - 10 * 60
    minute -= minute % 60

    def push(ts, received):
        body = {"timestamp": EpochTime.format(ts), "containers": [container("c1", "web", networkRxBytes=received)]}
        assert org.push(agent, body).status_code == 200

    push(minute, 0)
    push(minute + 60, 1200)
    _run(app, now)
    query = _query(app)
    rolled = "SELECT bucket, samples, network_rx_bytes_rate FROM container_rollups WHERE step = 60 ORDER BY bucket"
    assert query(rolled) == [(minute, 1, None), (minute + 60, 1, 20.0)]

    push(minute + 45, 0)  # late, and the counter had been reset: the next push's rate is now 1200 / 15
    assert query("SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(1,)]
    _run(app, now)
    assert query(rolled) == [(minute, 2, 0.0), (minute + 60, 1, 80.0)]
    assert query("SELECT samples, network_rx_bytes_rate FROM container_rollups WHERE step = 3600") == [(3, 40.0)]
    raw = _series(org, agent, **{"from": EpochTime.format(minute)})["points"]
    assert [p["networkRxBytesPerSec"] for p in raw] == [None, 0.0, 80.0]
    minutes = _series(org, agent, step="1m", **{"from": EpochTime.format(minute)})["points"]
    assert [p["networkRxBytesPerSec"] for p in minutes] == [0.0, 80.0]


def test_retention_prunes_each_tier_at_its_boundary_and_never_a_push_not_rolled_up(app, now):
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    query = _query(app)
    start = now - 30 * 60
    start -= start % 60
    _push_all(org, agent, [(0, start), (1, start + 59), (2, start + 60), (3, start + 120)])
    _run(app, now)
    key = {"agent_id": agent["agentId"]}
    minute_rows = query("SELECT bucket FROM container_rollups WHERE step = 60 AND key = 1 ORDER BY bucket")
    assert [row[0] for row in minute_rows] == [start, start + 60, start + 120]

    # Raw samples: whole minutes before now - RAW_RETENTION go, the minute of the boundary stays.
    later = start + 60 + RETENTION["RAW_RETENTION"]
    _run(app, later)
    assert [r[0] for r in query("SELECT ts FROM pushes WHERE agent_id = :agent_id ORDER BY ts", **key)] == [
        start + 60, start + 120]
    _run(app, later + 59)
    assert len(query("SELECT ts FROM pushes")) == 2
    _run(app, later + 60)
    assert [r[0] for r in query("SELECT ts FROM pushes")] == [start + 120]

    # Minute rollups: whole hours before now - MINUTE_RETENTION.
    hour = start - start % HOUR
    _run(app, hour + RETENTION["MINUTE_RETENTION"] + HOUR - 1)
    assert len(query("SELECT * FROM container_rollups WHERE step = 60 AND key = 1")) == 3
    _run(app, hour + RETENTION["MINUTE_RETENTION"] + HOUR)
    assert query("SELECT * FROM container_rollups WHERE step = 60") == []
    assert query("SELECT bucket, samples FROM container_rollups WHERE step = 3600 AND key = 1") == [(hour, 4)]

    # Hour rollups: whole hours before now - HOUR_RETENTION.
    _run(app, hour + RETENTION["HOUR_RETENTION"] + HOUR - 1)
    assert len(query("SELECT * FROM container_rollups WHERE step = 3600")) == 2
    _run(app, hour + RETENTION["HOUR_RETENTION"] + HOUR)
    assert query("SELECT * FROM container_rollups") == []


def test_a_minute_with_a_push_not_rolled_up_keeps_all_its_pushes(app, now):
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    query = _query(app)
    minute = now - 5 * 60
    minute -= minute % 60
    _push_all(org, agent, [(0, minute), (1, minute + 15)])
    _run(app, now)
    _push_all(org, agent, [(2, minute + 30)])  # arrives after the minute was rolled up
    with app.app_context():
        rollup_rows.prune_agent(agent["agentId"], raw_before=now)  # as if the raw window had passed
    assert [r[0] for r in query("SELECT ts FROM pushes ORDER BY ts")] == [minute, minute + 15, minute + 30]
    _run(app, now)
    assert query("SELECT samples FROM container_rollups WHERE step = 60 AND key = 1") == [(3,)]


def test_a_push_older_than_the_raw_window_is_400_and_stores_nothing(app, now):
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    old = int(time.time()) - RETENTION["RAW_RETENTION"] - 60
    response = org.push(agent, _body(old, 0))
    assert response.status_code == 400
    assert "timestamp" in response.json["errors"]["json"]
    assert _query(app)("SELECT COUNT(*) FROM pushes") == [(0,)]


def test_deleting_an_agent_deletes_its_rollups(app, now):
    org = Org(app, app.test_client(), "acme")
    kept, gone = org.register(name="kept"), org.register(name="gone")
    for agent in (kept, gone):
        _push_all(org, agent, [(0, now - 600), (1, now - 585)])
        org.push(agent, {"timestamp": EpochTime.format(now - 570), "containers": [],
                         "nodes": [{"name": "n1", "cpuPercent": 3.0}], "pods": [{"namespace": "a", "name": "p"}]})
    _run(app, now)
    query = _query(app)
    response = org.client.delete(f"/api/v1/agents/{gone['agentId']}", headers=bearer(org.admin))
    assert response.status_code == 204
    for table in ("pushes", "containers", "nodes", "pods", "container_rollups", "node_rollups", "pod_rollups"):
        assert query(f"SELECT DISTINCT agent_id FROM {table}") == [(kept["agentId"],)], table


def test_flask_prune_rolls_up_and_prunes_and_says_how_much(app):
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    now = int(time.time())
    minute = now - now % 60 - 300
    _push_all(org, agent, [(0, minute), (1, minute + 15)])
    result = app.test_cli_runner().invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert result.output == "Rolled up 2 pushes; pruned 0 rows.\n"
    assert _query(app)("SELECT COUNT(*) FROM container_rollups") == [(4,)]  # 2 containers, a minute and an hour
