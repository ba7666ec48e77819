"""What a running agent logs at INFO so a person can tell it works: the first push, then one line an hour."""

import logging

from kubewatch_agent.backoff import Backoff
from kubewatch_agent.client import Refused, Unreachable
from kubewatch_agent.loop import Agent
from test_agent_loop import FixedCollector, IDENTITY, StubClient


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def agent_on(client, clock):
    return Agent(client, FixedCollector(), dict(IDENTITY), backoff=Backoff(base=0.01, cap=0.02), clock=clock,
                 backlog_seconds=3)


def info_lines(caplog):
    return [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]


def test_the_first_push_that_lands_is_logged_once_with_what_it_carried(db_engine, caplog):
    caplog.set_level(logging.INFO, "kubewatch_agent")
    clock = Clock()
    agent = agent_on(StubClient(), clock)
    agent.register()
    for second in range(3):
        agent.backlog.add(dict(agent.sample(), timestamp=f"2026-06-16T10:00:0{second}Z"))
        agent.attempt()
    landed = [line for line in info_lines(caplog) if "push landed" in line]
    assert landed == ["first push landed: 2 containers, 0 nodes and 0 pods; next report in 60 min"]


def test_nothing_is_reported_before_a_push_has_landed(db_engine, caplog):
    caplog.set_level(logging.INFO, "kubewatch_agent")
    clock = Clock()
    agent = agent_on(StubClient([Unreachable("cannot reach the server")] * 3), clock)
    agent.register()
    agent.backlog.add(agent.sample())
    agent.attempt()
    clock.now += 7200
    agent.report.tick(len(agent.backlog), agent.backlog.dropped_total)
    assert not [line for line in info_lines(caplog) if "last 60 min" in line or "landed" in line]


def test_an_hour_after_the_first_push_one_line_counts_sent_queued_dropped_and_the_last_error(db_engine, caplog):
    caplog.set_level(logging.INFO, "kubewatch_agent")
    clock = Clock()
    client = StubClient([None, None, Refused("push", 400, "The request is not valid"),
                         Unreachable("cannot reach the server at http://stub.invalid: Connection refused")])
    agent = agent_on(client, clock)
    agent.register()  # interval 1 s, backlog of 3 s: 3 pushes
    for second in range(3):
        agent.backlog.add(dict(agent.sample(), timestamp=f"2026-06-16T10:00:0{second}Z"))
    agent.attempt()  # 2 sent, the third rejected (400) and dropped
    for second in range(3, 8):  # the server is down: 5 collected into a backlog of 3, 2 dropped
        agent.backlog.add(dict(agent.sample(), timestamp=f"2026-06-16T10:00:0{second}Z"))
    agent.attempt()
    clock.now += 3599
    agent.report.tick(len(agent.backlog), agent.backlog.dropped_total)
    assert not [line for line in info_lines(caplog) if line.startswith("last 60 min")]
    clock.now += 1
    agent.report.tick(len(agent.backlog), agent.backlog.dropped_total)
    assert [line for line in info_lines(caplog) if line.startswith("last 60 min")] == [
        "last 60 min: 2 pushes sent, 3 queued, 3 dropped; last error: cannot reach the server at "
        "http://stub.invalid: Connection refused"]


def test_the_next_hour_counts_afresh_and_says_when_there_was_no_error(db_engine, caplog):
    caplog.set_level(logging.INFO, "kubewatch_agent")
    clock = Clock()
    agent = agent_on(StubClient([None, Unreachable("the server answered 503 to the push")]), clock)
    agent.register()
    agent.backlog.add(agent.sample())
    agent.attempt()
    agent.backlog.add(dict(agent.sample(), timestamp="2026-06-16T10:00:01Z"))
    agent.attempt()
    clock.now += 3600
    agent.report.tick(len(agent.backlog), agent.backlog.dropped_total)
    clock.now += 1
    agent.attempt()  # the queued one goes through
    clock.now += 3600
    agent.report.tick(len(agent.backlog), agent.backlog.dropped_total)
    hourly = [line for line in info_lines(caplog) if line.startswith("last 60 min")]
    assert hourly == ["last 60 min: 1 pushes sent, 1 queued, 0 dropped; last error: the server answered 503 "
                      "to the push", "last 60 min: 1 pushes sent, 0 queued, 0 dropped; no errors"]
