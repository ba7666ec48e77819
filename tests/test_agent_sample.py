"""Push bodies: the collection time to the second, and a push even when the collector is in trouble."""

import logging
from datetime import datetime, timedelta, timezone

from kubewatch.api.push_schema import PushSchema
from kubewatch_agent.collectors import CollectorUnavailable
from kubewatch_agent.sample import Sampler, utc_timestamp


class Flaky:
    """A collector whose next answers are scripted: an exception is raised, a dict returned."""

    platform = "docker"

    def __init__(self, *answers):
        self.answers = list(answers)

    def collect(self):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_timestamps_are_utc_to_the_second():
    paris_summer = timezone(timedelta(hours=2))
    assert utc_timestamp(datetime(2026, 6, 16, 10, 0, 0, 999999, tzinfo=timezone.utc)) == "2026-06-16T10:00:00Z"
    assert utc_timestamp(datetime(2026, 6, 16, 12, 0, 1, tzinfo=paris_summer)) == "2026-06-16T10:00:01Z"


def test_a_body_has_the_four_top_level_fields_even_when_the_collector_finds_only_some():
    body = Sampler(Flaky({"containers": [{"id": "a1", "name": "web"}]}))()
    assert set(body) == {"timestamp", "containers", "nodes", "pods"}
    assert PushSchema().load(body)["containers"][0]["name"] == "web"


def test_an_unreachable_source_gives_a_valid_empty_push_and_one_line_per_change(caplog):
    caplog.set_level(logging.INFO, logger="kubewatch_agent")
    down = CollectorUnavailable("cannot reach the Docker Engine at unix:///var/run/docker.sock: Connection refused")
    sample = Sampler(Flaky(down, down, down, {"containers": []}, down))
    bodies = [sample() for _ in range(5)]
    assert all(PushSchema().load(body)["containers"] == [] for body in bodies)
    assert [record.getMessage() for record in caplog.records] == [
        f"docker: {down}; pushing what can be collected meanwhile",
        "docker: collecting again",
        f"docker: {down}; pushing what can be collected meanwhile"]


def test_numbers_that_are_not_finite_are_left_out_as_not_measured():
    body = Sampler(Flaky({"containers": [{"id": "a1", "name": "web", "cpuPercent": float("nan"),
                                          "memoryMB": float("inf"), "memoryLimitMB": 512.0}]}))()
    assert body["containers"] == [{"id": "a1", "name": "web", "memoryLimitMB": 512.0}]


def test_a_collector_bug_does_not_stop_the_pushes(caplog):
    body = Sampler(Flaky(KeyError("memory_stats")))()
    assert body["containers"] == []
    assert "docker: collection failed (KeyError: 'memory_stats')" in caplog.text
