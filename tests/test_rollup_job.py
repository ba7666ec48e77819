"""The rollup job on the real app and SQLite: rows that equal their samples, tiers that agree, restarts, a job
stopped halfway, late pushes, retention at each boundary, deleted agents and `flask prune`."""

import time

import pytest
from sqlalchemy import text

import engines
import stored
from conftest import Org, TEST_CONFIG, bearer, container
from kubewatch import buckets, create_app, rollup_job
from kubewatch.api.fields import EpochTime
from kubewatch.api.push_validation import Container
from kubewatch.db import db
from kubewatch.kinds import KINDS
from kubewatch.repository import pushes
from kubewatch.repository import prune_pass, rollup_rows

MINUTE, HOUR, DAY = 60, 3600, 86400
RETENTION = {"RAW_RETENTION": 48 * HOUR, "MINUTE_RETENTION": 14 * DAY, "HOUR_RETENTION": 400 * DAY}


def floor(ts, step):
    return ts - ts % step


@pytest.fixture
def make_app(db_engine, tmp_path):
    """Return a function building an app on an in-memory or a file database, with real retentions."""
    built = []

    def make(where="memory", **config):
        url = engines.fresh_url() if where == "memory" else engines.file_url(tmp_path / f'kubewatch-{len(built)}.db')
        app = create_app(dict(TEST_CONFIG, DATABASE_URL=url, **{**RETENTION, **config}))
        built.append(app)
        return app

    yield make
    for app in built:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def hour():
    """The start of the hour three hours ago: pushes from there on are in the past and inside the raw tier."""
    return floor(int(time.time()), HOUR) - 3 * HOUR


def sql(app, statement, **params):
    with app.app_context(), db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(statement), params)]


def run(app, now):
    with app.app_context():
        return rollup_job.run(app.config, now)


def node(index):
    return {"name": "node-1", "status": "Ready", "kubeletVersion": "v1.30.2", "cpuCores": 4,
            "cpuPercent": 20.0 + index % 13, "memoryMB": 2048.0 + index % 17, "memoryCapacityMB": 7961.6,
            "podCount": 10 + index % 3, "podCapacity": 110, "networkRxBytes": index * 5000,
            "networkTxBytes": 10 ** 6 - index if index < 40 else index,  # goes down, then restarts
            "fsUsedBytes": 2 ** 30 + index * 4096, "fsCapacityBytes": 50 * 2 ** 30 + (index // 100)}


def pod(index):
    return {"name": "api-7d9f", "namespace": "shop", "uid": "u-1", "nodeName": "node-1", "phase": "Running",
            "ready": True, "containerCount": 2, "readyContainers": 2, "restartCount": index // 50,
            "cpuPercent": None if index % 5 == 0 else 3.5 * (index % 4), "memoryMB": 256.0 + index % 7,
            "memoryLimitMB": 512.0, "networkRxBytes": index * 77, "networkTxBytes": index * 33}


def body(ts, index):
    """A push of two containers, a node and a pod whose numbers move, with nulls and counter resets."""
    return {"timestamp": EpochTime.format(ts), "containers": [
        container("c1", "web", cpuPercent=float(index % 7) * 5, memoryMB=100.0 + index % 11,
                  memoryLimitMB=512.0 if index < 200 else 1024.0,
                  networkRxBytes=index * 1000 if index < 150 else (index - 150) * 400,  # reset at 150
                  networkTxBytes=None if index % 9 == 0 else index * 10, restartCount=index // 100),
        container("c2", "db", cpuPercent=None if index % 4 == 0 else 2.5, memoryMB=64.0),
    ], "nodes": [node(index)], "pods": [pod(index)]}


def stamps(start, end, every=20):
    """(index, ts) of pushes from start to end, a little irregular as real agents are."""
    return [(index, ts + index % 3) for index, ts in enumerate(range(start, end, every))]


def push_all(org, agent, pushed):
    for index, ts in pushed:
        response = org.push(agent, body(ts, index))
        assert response.status_code == 200, response.json


def stored_rollup_rows(app, kind, step, agent_id=None):
    """Return {(agent_id, key, bucket): (samples, *columns)} of a rollup tier."""
    columns = ", ".join(buckets.rollup_columns(kind))
    where = "" if agent_id is None else " AND agent_id = :agent_id"
    found = sql(app, f"SELECT agent_id, key, bucket, {columns} FROM {kind.rollups} WHERE step = :step{where}",
                step=step, agent_id=agent_id)
    return {row[:3]: row[3:] for row in found}


def expected_rows(app, kind, step, agent_id):
    """Return what summarizing the agent's raw samples in buckets of step gives, keyed as stored_rollup_rows."""
    by_key = {}
    for ts, key, values in stored.samples(lambda statement, **params: sql(app, statement, **params),
                                          kind.name, agent_id):
        by_key.setdefault(key, []).append((ts, values))
    return {(agent_id, key, bucket): tuple(buckets.to_row(kind, summary))
            for key, samples in by_key.items()
            for bucket, summary in buckets.summarize(kind, samples, step).items()}


def near(values):
    return [value if value is None or isinstance(value, int) else pytest.approx(value, rel=1e-9) for value in values]


def assert_rows_equal(got, expected):
    assert sorted(got) == sorted(expected)
    for where, row in expected.items():
        assert list(got[where]) == near(row), where


def series_points(org, agent, path="containers/c1", **query):
    response = org.client.get(f"/api/v1/agents/{agent['agentId']}/{path}/metrics", query_string=query,
                              headers=bearer(org.viewer))
    assert response.status_code == 200, response.json
    return response.json


def approx_points(points):
    return [{k: pytest.approx(v, rel=1e-9) if isinstance(v, float) else v for k, v in p.items()} for p in points]


@pytest.fixture
def now():
    now = int(time.time())
    return now - now % HOUR - 1800  # half past the last hour but one: in the past, ranges in whole hours


def two_containers(ts, index):
    """A push of two containers; c1's CPU and network counter move, with a counter reset at index 7."""
    return {"timestamp": EpochTime.format(ts), "containers": [
        container("c1", "web", cpuPercent=float(index % 5) * 10, memoryMB=100.0 + index,
                  networkRxBytes=(index - 7) * 150 if index >= 7 else index * 300, restartCount=index // 20),
        container("c2", "db", cpuPercent=None if index % 3 == 0 else 1.5),
    ]}


def push_two_containers(org, agent, pushed):
    for index, ts in pushed:
        response = org.push(agent, two_containers(ts, index))
        assert response.status_code == 200, response.json


def container_rollup_rows(app):
    return sql(app, "SELECT * FROM container_rollups ORDER BY agent_id, key, step, bucket")


# (a) Rollup rows equal what the raw samples give

@pytest.mark.parametrize("where", ["memory", "file"])
def test_minute_and_hour_rows_equal_summarizing_the_raw_samples(make_app, hour, where):
    app = make_app(where)
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    pushed = stamps(hour, hour + 2 * HOUR + 30 * MINUTE)
    push_all(org, agent, pushed)
    assert run(app, int(time.time())).rolled_up == len(pushed)
    for kind in KINDS.values():
        for step in (MINUTE, HOUR):
            got = stored_rollup_rows(app, kind, step)
            assert_rows_equal(got, expected_rows(app, kind, step, agent["agentId"]))
            assert sum(row[0] for row in got.values()) == len(pushed) * (2 if kind.name == "containers" else 1)
    assert len(stored_rollup_rows(app, KINDS["containers"], MINUTE)) == 2 * 150  # two containers, 150 minutes
    assert len(stored_rollup_rows(app, KINDS["nodes"], HOUR)) == 3
    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)]


def test_a_minute_row_holds_average_maximum_count_and_rate_of_its_samples(make_app, hour):
    app = make_app()
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    minute = hour + 10 * MINUTE
    for ts, cpu, rx, limit in [(minute, 10.0, 0, 256.0), (minute + 15, 20.0, 1500, 512.0),
                               (minute + 30, None, 3000, None), (minute + 45, 30.0, 150, None)]:
        response = org.push(agent, {"timestamp": EpochTime.format(ts), "containers": [
            container("c1", "web", cpuPercent=cpu, networkRxBytes=rx, memoryLimitMB=limit)]})
        assert response.status_code == 200
    run(app, int(time.time()))
    columns = "samples, cpu_percent_avg, cpu_percent_max, cpu_percent_n, network_rx_bytes_rate, " \
              "network_rx_bytes_n, memory_limit_mb"
    # Rates 100, 100, then 10 after the counter went down; the first sample only starts them.
    assert sql(app, f"SELECT step, bucket, {columns} FROM container_rollups ORDER BY step") == [
        (MINUTE, minute, 4, 20.0, 30.0, 3, 70.0, 3, 512.0), (HOUR, hour, 4, 20.0, 30.0, 3, 70.0, 3, 512.0)]


# (b) Series that straddle the tiers

STEPS = {"1h": "1h", "1m": "1m", "5m": "1m", "30s": "raw", "90s": "raw"}


def test_series_are_the_same_from_raw_samples_from_rollups_and_from_both(make_app, hour):
    pushed = stamps(hour, hour + 2 * HOUR + 30 * MINUTE, every=30)
    window = {"from": EpochTime.format(hour), "to": EpochTime.format(hour + 3 * HOUR)}

    raw_app = make_app()
    raw_org = Org(raw_app, raw_app.test_client(), "acme")
    raw_agent = raw_org.register()
    push_all(raw_org, raw_agent, pushed)

    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    early = [(index, ts) for index, ts in pushed if ts < hour + 2 * HOUR]
    push_all(org, agent, early)
    run(app, hour + HOUR + 25 * MINUTE + 30)  # the first 85 minutes are rolled up, the next 35 not
    push_all(org, agent, pushed[len(early):])  # then 30 more minutes arrive
    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(len(pushed) - 85 * 2,)]

    for path in ("containers/c1", "containers/c2", "nodes/node-1", "pods/shop/api-7d9f"):
        for step, resolution in STEPS.items():
            from_raw = series_points(raw_org, raw_agent, path, step=step, **window)
            both = series_points(org, agent, path, step=step, **window)
            assert (from_raw["resolution"], both["resolution"]) == (resolution, resolution), step
            assert from_raw["step"] == both["step"]
            assert both["points"] == approx_points(from_raw["points"]), (path, step)
    expected_minutes = len({floor(ts, MINUTE) for _, ts in pushed})
    assert len(series_points(raw_org, raw_agent, step="1m", **window)["points"]) == expected_minutes

    run(app, int(time.time()))
    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)]
    for path in ("containers/c1", "nodes/node-1", "pods/shop/api-7d9f"):
        for step in STEPS:
            from_raw = series_points(raw_org, raw_agent, path, step=step, **window)
            assert series_points(org, agent, path, step=step, **window)["points"] == approx_points(
                from_raw["points"]), (path, step)


def test_the_resolution_says_which_tier_answered(make_app, hour):
    app = make_app()
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    push_all(org, agent, stamps(hour, hour + 10 * MINUTE))
    run(app, int(time.time()))
    window = {"from": EpochTime.format(hour), "to": EpochTime.format(hour + HOUR)}
    answers = {step: series_points(org, agent, step=step, **window) for step in ("1h", "5m", "30s", "2h", "1d")}
    assert {step: (a["resolution"], a["step"]) for step, a in answers.items()} == {
        "1h": ("1h", 3600), "5m": ("1m", 300), "30s": ("raw", 30), "2h": ("1h", 7200), "1d": ("1h", 86400)}
    assert series_points(org, agent, **window)["resolution"] == "raw"


def whole_bucket_points(pushed, step, until):
    """The API's points, t as epoch, of c1's samples in buckets of step, each bucket whole, up to until."""
    samples = [(ts, (float(index % 7) * 5, 100.0 + index % 11, 512.0, index * 1000, None, 0)) for index, ts in pushed]
    summaries = buckets.summarize(KINDS["containers"], samples, step)
    return [p for p in buckets.bucket_points(KINDS["containers"], summaries) if p["t"] <= until]


def push_c1(org, agent, pushed):
    for index, ts in pushed:
        response = org.push(agent, {"timestamp": EpochTime.format(ts), "containers": [container(
            "c1", "web", cpuPercent=float(index % 7) * 5, memoryMB=100.0 + index % 11, memoryLimitMB=512.0,
            networkRxBytes=index * 1000, networkTxBytes=None, restartCount=0)]})
        assert response.status_code == 200


@pytest.mark.parametrize("job", ["not run", "run"])
@pytest.mark.parametrize("step, seconds", [("1h", HOUR), ("5m", 300), ("1m", MINUTE)])
def test_a_range_ending_inside_a_bucket_gets_that_bucket_whole(make_app, hour, step, seconds, job):
    app = make_app()
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    pushed = [(index, ts) for index, ts in enumerate(range(hour + 20 * MINUTE, hour + 40 * MINUTE, 15))]
    push_c1(org, agent, pushed)
    if job == "run":
        run(app, int(time.time()))
    to = hour + 30 * MINUTE + 37  # inside a minute, a five-minute bucket and an hour, with samples after it
    answer = series_points(org, agent, step=step, **{"from": EpochTime.format(hour), "to": EpochTime.format(to)})
    expected = whole_bucket_points(pushed, seconds, to)
    assert [p["t"] for p in answer["points"]] == [EpochTime.format(p["t"]) for p in expected]
    last, whole = answer["points"][-1], expected[-1]
    assert (last["cpuPercent"], last["networkRxBytesPerSec"]) == (
        round(whole["cpuPercent"], 2), round(whole["networkRxBytesPerSec"], 1))


def push_with_a_gap(org, agent, minute):
    """c1 is in the pushes at minute + 30 and minute + 60 but not in the one between (only c2 is)."""
    for ts, containers in [(minute + 30, [container("c1", "web", networkRxBytes=0), container("c2", "db")]),
                           (minute + 45, [container("c2", "db")]),
                           (minute + 60, [container("c1", "web", networkRxBytes=3000), container("c2", "db")])]:
        response = org.push(agent, {"timestamp": EpochTime.format(ts), "containers": containers})
        assert response.status_code == 200


@pytest.mark.parametrize("where", ["memory", "file"])
def test_a_job_stopped_halfway_and_run_again_equals_a_clean_run(make_app, hour, monkeypatch, where):
    pushed = stamps(hour, hour + 2 * HOUR, every=60)
    names = ["web-0", "web-1", "web-2"]

    def build(where):
        app = make_app(where)
        org = Org(app, app.test_client(), "acme")
        agents = {name: org.register(name=name) for name in names}
        for agent in agents.values():
            push_all(org, agent, pushed)
        return app, {agent["agentId"]: name for name, agent in agents.items()}

    app, named = build(where)
    clean, clean_named = build("memory")
    now = int(time.time())
    victim = next(agent_id for agent_id, name in named.items() if name == "web-1")

    original = rollup_rows.merge_hour

    def dies_on_one_agent(conn, kind, agent_id, *hour_and_keys):
        if agent_id == victim:  # after its minutes were written, in the transaction of its first hour
            raise RuntimeError("the process died here")
        return original(conn, kind, agent_id, *hour_and_keys)

    monkeypatch.setattr(rollup_rows, "merge_hour", dies_on_one_agent)
    with pytest.raises(RuntimeError):
        run(app, now)
    # The agent whose job died has no hour written and none of its pushes marked: readers take its
    # minutes from the raw tier, and the next run recomputes the minutes it wrote, whole.
    for kind in KINDS.values():
        assert sql(app, f"SELECT COUNT(*) FROM {kind.rollups} WHERE agent_id = :a AND step = 3600", a=victim) == [(0,)]
    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE agent_id = :a AND rolled_up = 1", a=victim) == [(0,)]

    monkeypatch.setattr(rollup_rows, "merge_hour", original)
    run(app, now)
    run(clean, now)

    def by_name(app, named):
        found = {}
        for kind in KINDS.values():
            columns = ", ".join(buckets.rollup_columns(kind))
            for row in sql(app, f"SELECT agent_id, key, step, bucket, {columns} FROM {kind.rollups}"):
                found[(kind.name, named[row[0]], *row[1:4])] = row[4:]
        return found

    once = by_name(app, named)
    assert once == by_name(clean, clean_named)
    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)]
    for kind, per_push in (("containers", 2), ("nodes", 1), ("pods", 1)):
        counted = sql(app, f"SELECT agent_id, step, SUM(samples) FROM {KINDS[kind].rollups} GROUP BY agent_id, step")
        assert sorted(row[2] for row in counted) == [per_push * len(pushed)] * 6, kind

    assert run(app, now) == rollup_job.Done(0, 0)  # run again: nothing to do
    assert by_name(app, named) == once


def test_a_push_stored_twice_is_counted_once(make_app, hour):
    app = make_app()
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    push_all(org, agent, [(0, hour), (1, hour + 15)])
    run(app, int(time.time()))
    push_all(org, agent, [(1, hour + 15)])  # the agent retries a push it thinks was lost
    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)]
    run(app, int(time.time()))
    assert sql(app, "SELECT step, samples FROM container_rollups WHERE key = 1 ORDER BY step") == [
        (MINUTE, 2), (HOUR, 2)]


# (c) Job runs, old and new pushes

def test_series_agree_before_between_and_after_rollups(make_app, now):
    """A query reads raw samples, then minutes and hours as they are rolled up: the points never change."""
    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    start = now - 2 * HOUR - 1800  # two and a half hours of pushes, every 15 s
    stamps = list(enumerate(range(start, now - 60, 15)))
    push_two_containers(org, agent, stamps)
    window = {"from": EpochTime.format(start), "to": EpochTime.format(now)}
    asked = {"1h": "1h", "1m": "1m", "5m": "1m", "30s": "raw", "90s": "raw"}
    before = {step: series_points(org, agent, step=step, **window) for step in asked}
    assert all(answer["resolution"] == asked[step] for step, answer in before.items())
    assert len(before["1m"]["points"]) == len({ts // 60 for _, ts in stamps})
    assert len(before["1h"]["points"]) == 3

    run(app, now - 40 * 60)  # rolls up all but the last 20-odd minutes
    between = {step: series_points(org, agent, step=step, **window) for step in asked}
    run(app, now)
    after = {step: series_points(org, agent, step=step, **window) for step in asked}
    for step in asked:
        assert between[step]["points"] == approx_points(before[step]["points"]), step
        assert after[step]["points"] == approx_points(before[step]["points"]), step

    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)]
    assert sql(app, "SELECT SUM(samples) FROM container_rollups WHERE step = 60") == [(2 * len(stamps),)]
    assert sql(app, "SELECT SUM(samples) FROM container_rollups WHERE step = 3600") == [(2 * len(stamps),)]


def test_a_counter_reset_is_a_restart_in_every_tier_never_a_negative_rate(make_app, now):
    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    start = now - HOUR
    push_two_containers(org, agent, list(enumerate(range(start, start + 15 * 12, 15))))
    run(app, now)
    raw = series_points(org, agent, **{"from": EpochTime.format(start), "to": EpochTime.format(now)})["points"]
    rates = [point["networkRxBytesPerSec"] for point in raw]
    assert rates[0] is None  # nothing before the first sample
    assert rates[1:7] == [20.0] * 6 and rates[7] == 0.0 and rates[8:] == [10.0] * 4  # reset to 0 at index 7
    minutes = series_points(org, agent, step="1m", **{"from": EpochTime.format(start)})["points"]
    # Minutes of rates 20, 20, 20 | 20, 20, 20, 0 (the reset) | 10, 10, 10, 10; the first has no rate.
    assert [point["networkRxBytesPerSec"] for point in minutes] == pytest.approx([20.0, 15.0, 10.0])
    assert all(point["networkRxBytesPerSec"] >= 0 for point in minutes)


def test_the_job_stopped_halfway_and_run_again_counts_nothing_twice(make_app, now, monkeypatch):
    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    agents = [org.register(name=f"web-{i}") for i in range(3)]
    stamps = list(enumerate(range(now - HOUR, now - 120, 15)))
    for agent in agents:
        push_two_containers(org, agent, stamps)

    original, calls = rollup_rows.merge_hour, []

    def crash_on_the_second_agent(conn, kind, agent_id, *hour_and_keys):
        calls.append(agent_id)
        if len({*calls}) == 2:
            raise RuntimeError("the process died here")
        return original(conn, kind, agent_id, *hour_and_keys)

    monkeypatch.setattr(rollup_rows, "merge_hour", crash_on_the_second_agent)
    with pytest.raises(RuntimeError):
        run(app, now)
    # Several agents' hours are merged in one transaction, which died with the second agent's: no
    # push is marked whose hour is not written, none of the second's at all (its minutes written
    # so far are recomputed whole).
    hours = sql(app, "SELECT DISTINCT agent_id FROM container_rollups WHERE step = 3600")
    marked = sql(app, "SELECT DISTINCT agent_id FROM pushes WHERE rolled_up = 1")
    assert set(marked) <= set(hours) and (calls[-1],) not in marked

    monkeypatch.setattr(rollup_rows, "merge_hour", original)
    run(app, now)
    once = container_rollup_rows(app)
    run(app, now)
    assert container_rollup_rows(app) == once  # a second run changes nothing
    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)]
    per_agent = sql(app, "SELECT agent_id, step, SUM(samples) FROM container_rollups GROUP BY agent_id, step")
    assert sorted(row[2] for row in per_agent) == [2 * len(stamps)] * 6

    # The same pushes rolled up in one clean run give the very same rows, agent for agent.
    def without_agent(rows):
        return sorted(row[1:] for row in rows)
    by_agent = [[row for row in once if row[0] == agent["agentId"]] for agent in agents]
    assert without_agent(by_agent[0]) == without_agent(by_agent[1]) == without_agent(by_agent[2])


def test_a_late_push_is_counted_at_the_next_run_and_reseeds_the_next_rate(make_app, now):
    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    minute = now - 10 * 60
    minute -= minute % 60

    def push(ts, received):
        body = {"timestamp": EpochTime.format(ts), "containers": [container("c1", "web", networkRxBytes=received)]}
        assert org.push(agent, body).status_code == 200

    push(minute, 0)
    push(minute + 60, 1200)
    run(app, now)
    rolled = "SELECT bucket, samples, network_rx_bytes_rate FROM container_rollups WHERE step = 60 ORDER BY bucket"
    assert sql(app, rolled) == [(minute, 1, None), (minute + 60, 1, 20.0)]

    push(minute + 45, 0)  # late, and the counter had been reset: the next push's rate is now 1200 / 15
    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(1,)]
    run(app, now)
    assert sql(app, rolled) == [(minute, 2, 0.0), (minute + 60, 1, 80.0)]
    assert sql(app, "SELECT samples, network_rx_bytes_rate FROM container_rollups WHERE step = 3600") == [(3, 40.0)]
    raw = series_points(org, agent, **{"from": EpochTime.format(minute)})["points"]
    assert [p["networkRxBytesPerSec"] for p in raw] == [None, 0.0, 80.0]
    minutes = series_points(org, agent, step="1m", **{"from": EpochTime.format(minute)})["points"]
    assert [p["networkRxBytesPerSec"] for p in minutes] == [0.0, 80.0]


def test_retention_prunes_each_tier_at_its_boundary_and_never_a_push_not_rolled_up(make_app, now):
    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    start = now - 30 * 60
    start -= start % 60
    push_two_containers(org, agent, [(0, start), (1, start + 59), (2, start + 60), (3, start + 120)])
    run(app, now)
    key = {"agent_id": agent["agentId"]}
    minute_rows = sql(app, "SELECT bucket FROM container_rollups WHERE step = 60 AND key = 1 ORDER BY bucket")
    assert [row[0] for row in minute_rows] == [start, start + 60, start + 120]

    # Raw samples: whole minutes before now - RAW_RETENTION go, the minute of the boundary stays.
    later = start + 60 + RETENTION["RAW_RETENTION"]
    run(app, later)
    assert [r[0] for r in sql(app, "SELECT ts FROM pushes WHERE agent_id = :agent_id ORDER BY ts", **key)] == [
        start + 60, start + 120]
    run(app, later + 59)
    assert len(sql(app, "SELECT ts FROM pushes")) == 2
    run(app, later + 60)
    assert [r[0] for r in sql(app, "SELECT ts FROM pushes")] == [start + 120]

    # Minute rollups: whole hours before now - MINUTE_RETENTION.
    hour = start - start % HOUR
    run(app, hour + RETENTION["MINUTE_RETENTION"] + HOUR - 1)
    assert len(sql(app, "SELECT * FROM container_rollups WHERE step = 60 AND key = 1")) == 3
    run(app, hour + RETENTION["MINUTE_RETENTION"] + HOUR)
    assert sql(app, "SELECT * FROM container_rollups WHERE step = 60") == []
    assert sql(app, "SELECT bucket, samples FROM container_rollups WHERE step = 3600 AND key = 1") == [(hour, 4)]

    # Hour rollups: whole hours before now - HOUR_RETENTION.
    run(app, hour + RETENTION["HOUR_RETENTION"] + HOUR - 1)
    assert len(sql(app, "SELECT * FROM container_rollups WHERE step = 3600")) == 2
    run(app, hour + RETENTION["HOUR_RETENTION"] + HOUR)
    assert sql(app, "SELECT * FROM container_rollups") == []


# (d) Late pushes

def test_a_late_push_is_counted_at_the_next_run_and_the_next_rate_is_recomputed(make_app, hour):
    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    boundary = hour + HOUR  # the late push lands in the last minute of one hour, the push after it in the next

    def push(ts, cpu, rx):
        response = org.push(agent, {"timestamp": EpochTime.format(ts),
                                    "containers": [container("c1", "web", cpuPercent=cpu, networkRxBytes=rx)]})
        assert response.status_code == 200

    push(boundary - 30, 10.0, 0)
    push(boundary, 20.0, 3000)
    push(boundary + 30, 30.0, 4500)
    now = int(time.time())
    run(app, now)
    rows = "SELECT step, bucket, samples, cpu_percent_avg, network_rx_bytes_rate, network_rx_bytes_n " \
           "FROM container_rollups ORDER BY step, bucket"
    assert sql(app, rows) == [(MINUTE, boundary - 60, 1, 10.0, None, 0), (MINUTE, boundary, 2, 25.0, 75.0, 2),
                              (HOUR, hour, 1, 10.0, None, 0), (HOUR, boundary, 2, 25.0, 75.0, 2)]
    window = {"from": EpochTime.format(hour), "to": EpochTime.format(boundary + HOUR)}

    push(boundary - 15, 40.0, 150)  # late; the next rate is now (3000 - 150) / 15
    assert sql(app, "SELECT ts FROM pushes WHERE rolled_up = 0") == [(boundary - 15,)]
    pending = {step: series_points(org, agent, step=step, **window)["points"] for step in ("1m", "1h")}
    assert [p["networkRxBytesPerSec"] for p in pending["1m"]] == pytest.approx([10.0, 120.0])

    assert run(app, now).rolled_up == 1
    assert sql(app, rows) == [(MINUTE, boundary - 60, 2, 25.0, 10.0, 1), (MINUTE, boundary, 2, 25.0, 120.0, 2),
                              (HOUR, hour, 2, 25.0, 10.0, 1), (HOUR, boundary, 2, 25.0, 120.0, 2)]
    for step in ("1m", "1h"):
        assert series_points(org, agent, step=step, **window)["points"] == approx_points(pending[step])


# (e) Retention at each boundary

@pytest.fixture
def around_an_hour(make_app, hour):
    """An app with pushes on both sides of a minute and of an hour (at `hour + HOUR`), all rolled up."""
    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    edge = hour + HOUR
    push_all(org, agent, [(0, edge - 60), (1, edge - 1), (2, edge), (3, edge + 59), (4, edge + 60)])
    assert run(app, int(time.time())).rolled_up == 5
    return app, edge


def pushed_at(app):
    return [row[0] for row in sql(app, "SELECT ts FROM pushes ORDER BY ts")]


def rollup_buckets(app, step):
    return [row[0] for row in sql(app, "SELECT bucket FROM container_rollups WHERE step = :step AND key = 1 "
                                       "ORDER BY bucket", step=step)]


def test_raw_pushes_are_pruned_whole_minutes_before_now_minus_the_raw_retention(around_an_hour):
    app, edge = around_an_hour
    raw = RETENTION["RAW_RETENTION"]
    assert run(app, edge + raw - 1).pruned == 0  # floor_minute(now - raw) = edge - 60: nothing is older
    assert pushed_at(app) == [edge - 60, edge - 1, edge, edge + 59, edge + 60]
    assert run(app, edge + raw).pruned == 2  # the boundary is now edge
    assert pushed_at(app) == [edge, edge + 59, edge + 60]
    assert run(app, edge + raw + 59).pruned == 0
    assert run(app, edge + raw + 60).pruned == 2
    assert pushed_at(app) == [edge + 60]
    assert rollup_buckets(app, MINUTE) == [edge - 60, edge, edge + 60]  # the rollups stay


def test_minute_rows_are_pruned_whole_hours_before_now_minus_the_minute_retention(around_an_hour):
    app, edge = around_an_hour
    minutes = RETENTION["MINUTE_RETENTION"]
    run(app, edge + minutes - 1)  # floor_hour(now - retention) = edge - 1 h: the minute at edge - 60 is kept
    assert rollup_buckets(app, MINUTE) == [edge - 60, edge, edge + 60]
    run(app, edge + minutes)
    assert rollup_buckets(app, MINUTE) == [edge, edge + 60]
    run(app, edge + minutes + HOUR - 1)
    assert rollup_buckets(app, MINUTE) == [edge, edge + 60]
    run(app, edge + minutes + HOUR)
    assert rollup_buckets(app, MINUTE) == []
    assert rollup_buckets(app, HOUR) == [edge - HOUR, edge]  # the hours stay


def test_hour_rows_are_pruned_whole_hours_before_now_minus_the_hour_retention(around_an_hour):
    app, edge = around_an_hour
    hours = RETENTION["HOUR_RETENTION"]
    run(app, edge + hours - 1)
    assert rollup_buckets(app, HOUR) == [edge - HOUR, edge]
    assert sql(app, "SELECT samples FROM container_rollups WHERE step = 3600 AND key = 1 ORDER BY bucket") == [
        (2,), (3,)]
    run(app, edge + hours)
    assert rollup_buckets(app, HOUR) == [edge]
    run(app, edge + hours + HOUR - 1)
    assert rollup_buckets(app, HOUR) == [edge]
    run(app, edge + hours + HOUR)
    assert sql(app, "SELECT COUNT(*) FROM container_rollups") == [(0,)]


def test_a_push_not_rolled_up_is_never_pruned_and_its_minute_keeps_all_its_pushes(make_app, hour):
    app = make_app()
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    minute = hour + 10 * MINUTE
    push_all(org, agent, [(0, minute - 60), (1, minute), (2, minute + 15)])
    run(app, int(time.time()))
    push_all(org, agent, [(3, minute + 30), (4, minute + 5 * MINUTE)])  # arrive after the job ran
    with app.app_context():  # the job's prune, as if the raw retention had passed all of these
        assert prune_pass.prune(raw_before=minute + HOUR) == 1
    assert pushed_at(app) == [minute, minute + 15, minute + 30, minute + 5 * MINUTE]
    run(app, int(time.time()))
    assert sql(app, "SELECT bucket, samples FROM container_rollups WHERE step = 60 AND key = 1 ORDER BY bucket") == [
        (minute - 60, 1), (minute, 3), (minute + 5 * MINUTE, 1)]


def test_a_push_older_than_the_raw_retention_is_400_and_stores_nothing(make_app):
    app = make_app()
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    real = int(time.time())
    for ts in (real - RETENTION["RAW_RETENTION"] - 5, real + 600 + 30):
        response = org.push(agent, body(ts, 0))
        assert response.status_code == 400, ts
        assert set(response.json) == {"code", "status", "message", "errors"}
        assert "timestamp" in response.json["errors"]["json"]
    for table in ("pushes", "containers", "nodes", "pods"):
        assert sql(app, f"SELECT COUNT(*) FROM {table}") == [(0,)], table
    assert sql(app, "SELECT last_seen, container_count FROM agents") == [(None, 0)]
    assert org.push(agent, body(real - RETENTION["RAW_RETENTION"] + 60, 0)).status_code == 200


# (f) Deleting an agent

def test_deleting_an_agent_deletes_its_rollups_of_every_kind_and_no_one_elses(make_app, hour):
    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    kept, gone = org.register(name="kept"), org.register(name="gone")
    for agent in (kept, gone):
        push_all(org, agent, stamps(hour, hour + 5 * MINUTE))
    run(app, int(time.time()))
    before = {kind.name: len(stored_rollup_rows(app, kind, MINUTE, kept["agentId"])) for kind in KINDS.values()}
    assert all(before.values())
    assert org.client.delete(f"/api/v1/agents/{gone['agentId']}", headers=bearer(org.admin)).status_code == 204
    for kind in KINDS.values():
        assert sql(app, f"SELECT DISTINCT agent_id FROM {kind.rollups}") == [(kept["agentId"],)], kind.name
        assert len(stored_rollup_rows(app, kind, MINUTE, kept["agentId"])) == before[kind.name]
    for table in ("pushes", "containers", "nodes", "pods"):
        assert sql(app, f"SELECT DISTINCT agent_id FROM {table}") == [(kept["agentId"],)], table
    assert run(app, int(time.time())) == rollup_job.Done(0, 0)


# (g) flask prune

def test_flask_prune_rolls_up_prunes_and_prints_how_many(make_app):
    app = make_app("file")
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    real = int(time.time())
    push_all(org, agent, [(0, floor(real, MINUTE) - 5 * MINUTE), (1, floor(real, MINUTE) - 4 * MINUTE)])
    with app.app_context():  # one push from before the raw retention, as an older server accepted it
        old = floor(real - RETENTION["RAW_RETENTION"], MINUTE) - HOUR
        assert pushes.store_push(agent["agentId"], old, old, {
            "containers": [Container(runtime_id="c1", name="web", cpu_percent=1.0)], "nodes": [], "pods": []})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert result.output == "Rolled up 3 pushes; pruned 1 rows.\n"
    assert len(pushed_at(app)) == 2
    again = runner.invoke(args=["prune"])
    assert again.output == "Rolled up 0 pushes; pruned 0 rows.\n"
