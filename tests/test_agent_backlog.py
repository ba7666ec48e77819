"""The backlog: an hour of pushes by default, oldest out first, oldest dropped when full."""

import logging

from kubewatch_agent.backlog import Backlog


def body(second):
    return {"timestamp": f"2026-06-16T10:00:{second:02d}Z", "containers": []}


def fill(backlog, count):
    for second in range(count):
        backlog.add(body(second))


def test_default_holds_an_hour_of_pushes_at_the_server_s_interval():
    assert Backlog(interval=15).capacity == 240
    assert Backlog(seconds=3600, interval=1).capacity == 3600


def test_pushes_come_out_oldest_first():
    backlog = Backlog(seconds=10, interval=1)
    fill(backlog, 3)
    taken = []
    while len(backlog):
        taken.append(backlog.oldest()["timestamp"])
        backlog.remove_oldest()
    assert taken == [body(second)["timestamp"] for second in range(3)]


def test_when_full_the_oldest_is_dropped_with_one_log_line(caplog):
    backlog = Backlog(seconds=3, interval=1)
    fill(backlog, 6)
    assert [queued["timestamp"] for queued in backlog] == [body(second)["timestamp"] for second in (3, 4, 5)]
    assert [record.getMessage() for record in caplog.records] == [
        "backlog full (3 pushes, 3 s): dropping the oldest from now on"]


def test_draining_a_backlog_that_dropped_pushes_says_how_many(caplog):
    backlog = Backlog(seconds=3, interval=1)
    fill(backlog, 5)
    caplog.clear()
    for _ in range(3):
        backlog.remove_oldest()
    assert [record.getMessage() for record in caplog.records] == [
        "backlog drained; 2 pushes were dropped while it was full"]
    assert caplog.records[0].levelno == logging.WARNING


def test_a_longer_interval_from_the_server_shrinks_the_backlog_keeping_the_newest():
    backlog = Backlog(seconds=10, interval=1)
    fill(backlog, 8)
    backlog.resize(5)
    assert backlog.capacity == 2
    assert [queued["timestamp"] for queued in backlog] == [body(6)["timestamp"], body(7)["timestamp"]]
    assert backlog.dropped == 6
