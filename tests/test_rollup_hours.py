"""Hours closed once whole: an agent's one-hour rollups are merged at the first run after the hour, read from
its minutes until then, merged again for a late push, closed a budget at a time, and never pruned open."""

import time

import pytest
from sqlalchemy import text

from conftest import Org
from kubewatch import rollup_hours
from kubewatch.kinds import KINDS
from test_rollup_job import (HOUR, MINUTE, approx_points, assert_rows_equal, expected_rows, make_app, push_all, run,  # noqa: F401
                             series_points, sql, stamps, stored_rollup_rows)
from kubewatch.api.fields import EpochTime
from kubewatch.db import db

CONTAINERS = KINDS["containers"]


@pytest.fixture
def hour():
    """The start of the hour five hours ago: pushes from there on are in the past and inside the raw tier."""
    now = int(time.time())
    return now - now % HOUR - 5 * HOUR


def open_from(app, agent, hour):
    """Make the agent's hours from hour on open, as they are for an agent pushing now."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("UPDATE agents SET hours_through = :hour WHERE id = :agent_id"),
                     {"hour": hour, "agent_id": agent["agentId"]})


def hours_through(app, agent):
    return sql(app, "SELECT hours_through FROM agents WHERE id = :agent_id", agent_id=agent["agentId"])[0][0]


def hour_buckets(app, agent):
    return sorted({bucket for (_, _, bucket) in stored_rollup_rows(app, CONTAINERS, HOUR, agent["agentId"])})


def window(start, end):
    return {"from": EpochTime.format(start), "to": EpochTime.format(end)}


def test_an_hour_is_merged_once_whole_and_read_from_its_minutes_until_then(make_app, hour):
    app = make_app()
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    open_from(app, agent, hour)
    push_all(org, agent, stamps(hour, hour + HOUR + 30 * MINUTE))
    asked = window(hour, hour + 2 * HOUR - 1)
    from_raw = {step: series_points(org, agent, step=step, **asked)["points"] for step in ("1h", "1m")}
    assert len(from_raw["1h"]) == 2

    run(app, hour + HOUR + 31 * MINUTE)  # inside the second hour: the first is whole, the second is not
    assert hours_through(app, agent) == hour + HOUR
    assert hour_buckets(app, agent) == [hour]  # the open hour has no hour row yet
    assert sql(app, "SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)]
    for step, points in from_raw.items():  # the open hour is read from the minutes
        assert series_points(org, agent, step=step, **asked)["points"] == approx_points(points), step

    run(app, hour + 2 * HOUR + MINUTE)
    assert hours_through(app, agent) == hour + 2 * HOUR
    assert hour_buckets(app, agent) == [hour, hour + HOUR]
    for kind in KINDS.values():
        assert_rows_equal(stored_rollup_rows(app, kind, HOUR, agent["agentId"]),
                          expected_rows(app, kind, HOUR, agent["agentId"]))
    for step, points in from_raw.items():
        assert series_points(org, agent, step=step, **asked)["points"] == approx_points(points), step


def test_a_late_push_into_a_closed_hour_merges_that_hour_again(make_app, hour):
    app = make_app()
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    open_from(app, agent, hour)
    push_all(org, agent, [(index, ts) for index, ts in stamps(hour, hour + HOUR) if index != 40])
    run(app, hour + HOUR + MINUTE)
    assert hours_through(app, agent) == hour + HOUR
    samples_before = sql(app, "SELECT samples FROM container_rollups WHERE step = :step", step=HOUR)

    push_all(org, agent, [(index, ts) for index, ts in stamps(hour, hour + HOUR) if index == 40])  # late
    run(app, hour + HOUR + 2 * MINUTE)
    assert sql(app, "SELECT samples FROM container_rollups WHERE step = :step", step=HOUR) == [
        (samples + 1,) for (samples,) in samples_before]
    for kind in KINDS.values():
        assert_rows_equal(stored_rollup_rows(app, kind, HOUR, agent["agentId"]),
                          expected_rows(app, kind, HOUR, agent["agentId"]))


def test_a_run_closes_a_budget_of_objects_and_keeps_the_minutes_of_hours_still_open(make_app, hour, monkeypatch):
    app = make_app()
    org = Org(app, app.test_client(), "acme")
    agents = [org.register(name=f"web-{n}") for n in range(3)]
    for agent in agents:
        open_from(app, agent, hour)
        push_all(org, agent, stamps(hour, hour + HOUR, every=60))
    # Minutes are kept two hours: the hour's minutes are past retention at every run below.
    app.config.update(RAW_RETENTION=HOUR, MINUTE_RETENTION=2 * HOUR)
    now = hour + 3 * HOUR + 30 * MINUTE
    asked = window(hour, hour + HOUR - 1)
    expected = [series_points(org, agent, step="1h", **asked)["points"] for agent in agents]
    hour_rows = [{name: expected_rows(app, kind, HOUR, agent["agentId"]) for name, kind in KINDS.items()}
                 for agent in agents]  # from the raw samples, pruned by the runs below

    monkeypatch.setattr(rollup_hours, "CLOSE_OBJECTS", 0)  # a run with no room to close any hour
    run(app, hour + HOUR + MINUTE)
    assert [hours_through(app, agent) for agent in agents] == [hour] * 3
    written = sql(app, "SELECT COUNT(*) FROM container_rollups WHERE step = :step", step=MINUTE)[0][0]
    assert written == 2 * 60 * len(agents)  # two containers, 60 minutes

    monkeypatch.setattr(rollup_hours, "CLOSE_OBJECTS", 1)  # each run closes one agent: agents go whole
    for closed in range(1, 4):
        run(app, now + closed * MINUTE)
        edges = sorted(hours_through(app, agent) for agent in agents)
        assert edges == [hour] * (3 - closed) + [hour + 3 * HOUR] * closed
        for agent, points in zip(agents, expected):  # closed or open, each agent's hour reads the same
            assert series_points(org, agent, step="1h", **asked)["points"] == approx_points(points)
        minutes = sql(app, "SELECT COUNT(*) FROM container_rollups WHERE step = :step", step=MINUTE)[0][0]
        assert minutes == (written if closed < 3 else 0)  # pruned only once every agent's hour is closed
    assert sql(app, "SELECT COUNT(*) FROM pushes") == [(0,)]
    for agent, rows in zip(agents, hour_rows):
        assert hour_buckets(app, agent) == [hour]
        for name, kind in KINDS.items():
            assert_rows_equal(stored_rollup_rows(app, kind, HOUR, agent["agentId"]), rows[name])
