"""Push bodies: the collection time to the second, a push even when the collector is in trouble, no figure that cannot be true."""

import logging
from datetime import datetime, timedelta, timezone

import pytest

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


NODE = {"name": "vm-1", "status": "Ready", "cpuCores": 2, "cpuPercent": 37.5, "memoryMB": 1024.0,
        "memoryCapacityMB": 2048.0, "networkRxBytes": 1000, "networkTxBytes": 2000, "fsUsedBytes": 10,
        "fsCapacityBytes": 100}


def node_after(**changed):
    [node] = Sampler(Flaky({"nodes": [dict(NODE, **changed)]}))()["nodes"]
    return node


@pytest.mark.parametrize("field, value", [
    ("cpuPercent", 100.01), ("cpuPercent", 1844674407370.96), ("cpuPercent", -0.5), ("cpuPercent", -0.0),
    ("memoryMB", 2048.01), ("memoryMB", -1.0), ("fsUsedBytes", 101), ("networkRxBytes", -1),
    ("networkTxBytes", 2**63), ("networkRxBytes", 18446744073709551000), ("cpuCores", -2),
])
def test_a_node_figure_that_cannot_be_true_is_left_out_and_the_others_kept(field, value):
    assert node_after(**{field: value}) == {key: found for key, found in NODE.items() if key != field}


@pytest.mark.parametrize("field, value", [
    ("cpuPercent", 100.0), ("cpuPercent", 0.0), ("memoryMB", 2048.0), ("fsUsedBytes", 100),
    ("networkRxBytes", 2**63 - 1),
])
def test_a_figure_at_the_edge_of_possible_is_kept(field, value):
    assert node_after(**{field: value})[field] == value


def test_pod_and_container_figures_are_bounded_by_their_node_and_their_limit():
    body = Sampler(Flaky({"nodes": [NODE], "pods": [
        {"name": "a", "namespace": "ns", "nodeName": "vm-1", "cpuPercent": 200.0, "memoryMB": 2048.0},
        {"name": "b", "namespace": "ns", "nodeName": "vm-1", "cpuPercent": 200.5, "memoryMB": 2049.0},
        {"name": "c", "namespace": "ns", "cpuPercent": 350.0, "memoryMB": -0.0}], "containers": [
        {"id": "c1", "name": "web", "memoryMB": 512.0, "memoryLimitMB": 512.0, "cpuPercent": 150.0},
        {"id": "c2", "name": "db", "memoryMB": 512.5, "memoryLimitMB": 512.0, "restartCount": -1}]}))()
    assert body["pods"] == [
        {"name": "a", "namespace": "ns", "nodeName": "vm-1", "cpuPercent": 200.0, "memoryMB": 2048.0},
        {"name": "b", "namespace": "ns", "nodeName": "vm-1"},
        {"name": "c", "namespace": "ns", "cpuPercent": 350.0}]  # no node known: only the universal checks
    assert body["containers"] == [
        {"id": "c1", "name": "web", "memoryMB": 512.0, "memoryLimitMB": 512.0, "cpuPercent": 150.0},
        {"id": "c2", "name": "db", "memoryLimitMB": 512.0}]
    PushSchema().load(body)


def test_each_kind_of_impossible_figure_is_logged_once_not_every_push(caplog):
    glitch = {"nodes": [dict(NODE, cpuPercent=250.0, networkRxBytes=-5)]}
    sample = Sampler(Flaky(*[glitch] * 3, {"nodes": [dict(NODE, name="vm-2", cpuPercent=101.0)]}))
    bodies = [sample() for _ in range(4)]
    assert all("cpuPercent" not in body["nodes"][0] for body in bodies)
    assert [record.getMessage() for record in caplog.records] == [
        "node vm-1: cpuPercent 250.0 is impossible (a node uses at most 100 % of its cores): sent as not measured; "
        "further ones are not logged",
        "node vm-1: networkRxBytes -5 is impossible (negative): sent as not measured; further ones are not logged"]


def test_the_collectors_objects_are_not_changed_by_the_check():
    node = dict(NODE, cpuPercent=250.0)
    Sampler(Flaky({"nodes": [node]}))()
    assert node["cpuPercent"] == 250.0
