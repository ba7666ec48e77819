"""Which tier answers a series query (kubewatch/series_query.py), against real retentions: what is kept how far
back, the step chosen without one, and steps finer than what is kept refused."""

import time

import pytest

from conftest import Org, fresh_config, bearer, container
from kubewatch import create_app
from kubewatch.api.fields import EpochTime
from kubewatch.db import db

HOUR, DAY = 3600, 86400


def get(org, path, **query):
    return org.client.get(path, query_string=query, headers=bearer(org.viewer))


def url(agent, path=""):
    return f"/api/v1/agents/{agent['agentId']}{path}"


def assert_error_shape(response, code):
    assert response.status_code == code, response.json
    assert response.json["code"] == code and isinstance(response.json["message"], str)
    assert set(response.json) <= {"code", "status", "message", "errors"}


@pytest.fixture(scope="module")
def kept(db_engine):
    """An app that keeps raw samples 48 h, minutes 14 d, hours 400 d; an org and an agent with one push."""
    app = create_app(fresh_config(RAW_RETENTION=48 * HOUR, MINUTE_RETENTION=14 * DAY,
                          HOUR_RETENTION=400 * DAY))
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    response = org.push(agent, {"timestamp": EpochTime.format(int(time.time()) - 120),
                                "containers": [container("c1", "web")]})
    assert response.status_code == 200, response.json
    yield org, agent
    with app.app_context():
        db.engine.dispose()


def ago(seconds):
    return EpochTime.format(int(time.time()) - seconds)


@pytest.mark.parametrize("step, back, coarser", [
    ("30s", 3 * DAY, "whole minutes"), ("90s", 48 * HOUR + 30, "whole minutes"),
    ("1m", 15 * DAY, "whole hours"), ("5m", 30 * DAY, "whole hours"), ("90m", 15 * DAY, "whole hours"),
])
def test_a_step_finer_than_what_is_kept_that_far_back_is_400(kept, step, back, coarser):
    org, agent = kept
    response = get(org, url(agent, "/containers/c1/metrics"), step=step, **{"from": ago(back)})
    assert_error_shape(response, 400)
    assert coarser in response.json["message"]


@pytest.mark.parametrize("step, back, resolution", [
    ("30s", 48 * HOUR - 30, "raw"), ("5m", 3 * DAY, "1m"), ("1m", 14 * DAY - 30, "1m"),
    ("1h", 30 * DAY, "1h"), ("1d", 500 * DAY, "1h"),
])
def test_a_step_kept_that_far_back_is_answered(kept, step, back, resolution):
    org, agent = kept
    response = get(org, url(agent, "/containers/c1/metrics"), step=step,
                   **{"from": ago(back), "to": ago(back - 2 * HOUR)})
    assert response.status_code == 200, response.json
    assert response.json["resolution"] == resolution


@pytest.mark.parametrize("back, resolution, step", [
    (48 * HOUR - 30, "raw", None), (3 * DAY, "1m", 60), (30 * DAY, "1h", 3600),
])
def test_without_step_the_answer_says_which_step_the_server_chose(kept, back, resolution, step):
    org, agent = kept
    answer = get(org, url(agent, "/containers/c1/metrics"), **{"from": ago(back), "to": ago(back - 2 * HOUR)}).json
    assert (answer["resolution"], answer["step"]) == (resolution, step)


def test_without_step_a_range_of_almost_10000_minutes_is_answered_not_refused(kept):
    org, agent = kept
    start = int(time.time()) - 10 * DAY
    start -= start % 60 - 1  # one second into a minute
    end = start + 10_000 * 60 - 1  # 9,999 minutes and 59 s: minute buckets would be 10,001
    response = get(org, url(agent, "/containers/c1/metrics"),
                   **{"from": EpochTime.format(start), "to": EpochTime.format(end)})
    assert response.status_code == 200, response.json
    assert len(response.json["points"]) <= 10_000
