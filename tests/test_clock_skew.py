"""An agent whose clock is off: its state follows the pushes as received, its skew is measured, shown and logged once."""

import time
from email.utils import formatdate

import pytest
import requests

from conftest import bearer, container
from kubewatch.api.fields import EpochTime
from live_server import LiveServer

ADMIN = {"email": "ops@example.com", "password": "a long admin password"}


def body(ts, *containers):
    return {"timestamp": EpochTime.format(ts), "containers": list(containers), "nodes": [], "pods": []}


@pytest.fixture(scope="module")
def server(db_engine, tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("skew"), ADMIN_EMAIL=ADMIN["email"],
                      ADMIN_PASSWORD=ADMIN["password"]).start()
    yield live
    live.stop()


class Agent:
    """One agent of the live server, and what a user reads of it."""

    def __init__(self, server, name):
        self.server = server
        registered = requests.post(server.url + "/api/v1/agents/register", json={"name": name, "hostname": name},
                                   headers={"X-API-Key": server.first_run_key()}).json()
        self.id, self.token = registered["agentId"], registered["token"]
        self.user = requests.post(server.url + "/api/v1/auth/login", json=ADMIN).json()["token"]

    def push(self, pushed, **headers):
        response = requests.post(f"{self.server.url}/api/v1/agents/{self.id}/push", json=pushed,
                                 headers={**bearer(self.token), **headers})
        assert response.status_code == 200, response.text
        return response

    def get(self, path="", **query):
        response = requests.get(f"{self.server.url}/api/v1/agents/{self.id}{path}", params=query,
                                headers=bearer(self.user))
        assert response.status_code == 200, response.text
        return response.json()

    def listed(self):
        [found] = [agent for agent in requests.get(self.server.url + "/api/v1/agents",
                                                   headers=bearer(self.user)).json() if agent["id"] == self.id]
        return found

    def statuses(self):
        return {c["name"]: c["status"] for c in self.get("/containers")}

    def log_lines(self, text):
        return [line for line in self.server.output().splitlines() if self.id in line and text in line]


def test_a_clock_that_ran_fast_and_was_fixed_does_not_freeze_the_agent(server):
    """The issue's input: three pushes stamped server-now + 300 s, then the clock is fixed."""
    agent = Agent(server, "fast-clock")
    now = int(time.time())
    for step in range(3):
        agent.push(body(now + 300 + step, container("app", "app", status="running")))
    assert 298 <= agent.get()["clockSkewSeconds"] <= 302
    # A fast agent's recent samples are in the default window: the last hour, as the agent counts it.
    assert len(agent.get("/containers/app/metrics")["points"]) == 3
    assert len(agent.get("/metrics")["points"]) == 3
    assert len(agent.log_lines("300 s ahead of the server's")) + len(agent.log_lines("299 s ahead of")) == 1

    agent.push(body(int(time.time()), container("app", "app", status="exited", exitCode=0),
                    container("app-v2", "app-v2", status="running")))
    assert agent.statuses() == {"app": "exited", "app-v2": "running"}
    assert agent.listed()["containerCount"] == 2
    detail = agent.get()
    assert (detail["containerCount"], detail["runningCount"]) == (2, 1)
    assert -2 <= detail["clockSkewSeconds"] <= 0
    assert len(agent.log_lines("within 30 s of the server's again")) == 1
    assert len(agent.log_lines("ahead of the server's")) == 1  # four pushes, one line
    # Every sample is kept with its own timestamp.
    points = agent.get("/containers/app/metrics", **{"from": EpochTime.format(now - 60),
                                                     "to": EpochTime.format(now + 400)})["points"]
    assert len(points) == 4
    # The next pushes go on following the fixed clock.
    agent.push(body(int(time.time()) + 1, container("app-v2", "app-v2", status="running")))
    assert agent.statuses() == {"app-v2": "running"}
    assert agent.listed()["containerCount"] == 1


def test_a_backlog_replayed_late_never_overwrites_newer_state(server):
    agent = Agent(server, "replaying")
    now = int(time.time())
    agent.push(body(now, container("app-v2", "app-v2", status="running")))
    agent.push(body(now - 120, container("app", "app", status="running")))  # collected before the outage
    agent.push(body(now - 105, container("app", "app", status="exited")))
    assert agent.statuses() == {"app-v2": "running"}
    assert agent.listed()["containerCount"] == 1
    assert -2 <= agent.get()["clockSkewSeconds"] <= 0  # a replay is not a skew
    app = agent.get("/containers/app/metrics", **{"from": EpochTime.format(now - 300), "to": EpochTime.format(now)})
    assert [p["t"] for p in app["points"]] == [EpochTime.format(now - 120), EpochTime.format(now - 105)]
    assert agent.log_lines("clock is") == []


def test_an_agent_that_sends_date_has_its_skew_measured_apart_from_its_backlog(server):
    agent = Agent(server, "with-date")
    now = int(time.time())
    # Ten minutes of backlog from an agent whose clock is right: each push's Date is now.
    for step in range(3):
        agent.push(body(now - 600 + step * 15, container("app", "app")), Date=formatdate(now, usegmt=True))
    assert -2 <= agent.get()["clockSkewSeconds"] <= 1
    assert agent.log_lines("clock is") == []
    # An agent 300 s ahead: a push replayed from its backlog, older by its own clock than the state's, changes nothing.
    ahead = int(time.time()) + 300
    agent.push(body(ahead, container("app-v2", "app-v2")), Date=formatdate(ahead, usegmt=True))
    agent.push(body(ahead - 60, container("app", "app")), Date=formatdate(ahead, usegmt=True))
    assert set(agent.statuses()) == {"app-v2"}
    assert 298 <= agent.get()["clockSkewSeconds"] <= 301


@pytest.mark.parametrize("behind", [45, 120, 550])
def test_a_clock_behind_shows_a_negative_skew_and_is_logged_once(server, behind):
    agent = Agent(server, f"slow-clock-{behind}")
    for step in range(3):
        agent.push(body(int(time.time()) - behind + step * 5, container("app", "app", status=f"step-{step}")))
    assert -behind - 3 <= agent.get()["clockSkewSeconds"] <= -behind + 11
    assert agent.statuses() == {"app": "step-2"}
    assert len(agent.log_lines("behind the server's")) == 1


@pytest.mark.parametrize("ahead", [45, 120, 590])
def test_a_clock_ahead_by_any_amount_the_server_takes_is_followed_and_logged_once(server, ahead):
    agent = Agent(server, f"fast-clock-{ahead}")
    now = int(time.time())
    for step in range(3):
        agent.push(body(now + ahead + step, container("app", "app", status=f"step-{step}")))
    assert ahead - 2 <= agent.get()["clockSkewSeconds"] <= ahead + 3
    assert agent.statuses() == {"app": "step-2"}
    assert len(agent.get("/containers/app/metrics")["points"]) == 3
    assert len(agent.log_lines("ahead of the server's")) == 1
    agent.push(body(int(time.time()), container("app", "app", status="fixed")))
    assert agent.statuses() == {"app": "fixed"}


def test_a_skew_within_30_seconds_is_shown_but_not_logged(server):
    agent = Agent(server, "nearly-right")
    agent.push(body(int(time.time()) + 20, container("app", "app")))
    assert 18 <= agent.get()["clockSkewSeconds"] <= 21
    agent.push(body(int(time.time()) - 25, container("app", "app")), Date=formatdate(time.time() - 25, usegmt=True))
    assert -27 <= agent.get()["clockSkewSeconds"] <= -23
    assert agent.log_lines("clock is") == []


def test_an_agent_that_never_pushed_has_no_skew(server):
    assert Agent(server, "pending").get()["clockSkewSeconds"] is None
