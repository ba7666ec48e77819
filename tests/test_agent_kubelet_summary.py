"""Kubelet summaries as users have seen them go wrong: a pod's old instance, a container listed twice, wrapped counters.

The recorded cluster (tests/fixtures/kubernetes-glitches) has node-1 (4 cores, 8 GiB) whose summary
holds default/foo twice (the pod's uid u-new, and u-old from before it was recreated) and the pod
bar-5c8f7d with its container bar listed twice; and node-2 (2 cores, 4 GiB) whose kubelet reports a
wrapped usageNanoCores (18446744073709551000) for the node and for its pod spin-6b9d4. Variants are
copies of it with one field changed.
"""

import json
import logging
import shutil

import pytest

from fake_kubernetes import FIXTURES, FakeApiServer
from kubewatch.api.push_schema import PushSchema
from kubewatch_agent.collectors.kubernetes import KubernetesCollector
from kubewatch_agent.sample import Sampler
from test_agent_cli import agent, agent_env

GLITCHES = FIXTURES.parent / "kubernetes-glitches"
WRAPPED = 18446744073709551000


class Cluster:
    """A copy of the recorded cluster that a test may change, served by a fake API server."""

    def __init__(self, tmp_path):
        self.folder = tmp_path / "cluster"
        shutil.copytree(GLITCHES, self.folder)
        self.server = FakeApiServer(self.folder).start()
        self.kubeconfig = self.server.kubeconfig(tmp_path / "kubeconfig")

    def edit(self, name, change):
        """Apply change to the parsed JSON of fixture name, in place."""
        path = self.folder / name
        found = json.loads(path.read_text())
        change(found)
        path.write_text(json.dumps(found))

    def body(self):
        """Return the push body the agent's sampler makes of the cluster, checked against the push schema."""
        collector = KubernetesCollector(environ={"KUBECONFIG": str(self.kubeconfig)})
        try:
            body = Sampler(collector)()
        finally:
            collector.close()
        PushSchema().load(body)
        return body


@pytest.fixture
def cluster(tmp_path):
    found = Cluster(tmp_path)
    yield found
    found.server.stop()


def pods(body):
    return {pod["name"]: pod for pod in body["pods"]}


def nodes(body):
    return {node["name"]: node for node in body["nodes"]}


def usage(found):
    keys = ("cpuPercent", "memoryMB", "networkRxBytes", "networkTxBytes")
    return {key: found[key] for key in keys if key in found}


def summary_pod(summary, uid):
    return next(entry for entry in summary["pods"] if entry["podRef"]["uid"] == uid)


# Item 3: the pod's usage is its own uid's, never that of the old instance of the same namespace and name.

def test_pod_usage_is_matched_by_uid_not_by_namespace_and_name(cluster):
    assert usage(pods(cluster.body())["foo"]) == {
        "cpuPercent": 25.0, "memoryMB": 120.0, "networkRxBytes": 5000, "networkTxBytes": 6000}


def test_the_old_instance_listed_first_changes_nothing(cluster):
    cluster.edit("summary-node-1.json", lambda summary: summary["pods"].reverse())
    assert usage(pods(cluster.body())["foo"]) == {
        "cpuPercent": 25.0, "memoryMB": 120.0, "networkRxBytes": 5000, "networkTxBytes": 6000}


def test_the_old_instance_in_another_nodes_summary_lends_nothing(cluster):
    def move_old(summaries):
        one = json.loads((cluster.folder / "summary-node-1.json").read_text())
        old = summary_pod(one, "u-old")
        one["pods"].remove(old)
        (cluster.folder / "summary-node-1.json").write_text(json.dumps(one))
        summaries["pods"].append(old)

    cluster.edit("summary-node-2.json", move_old)
    assert usage(pods(cluster.body())["foo"]) == {
        "cpuPercent": 25.0, "memoryMB": 120.0, "networkRxBytes": 5000, "networkTxBytes": 6000}


def test_a_pod_found_only_in_another_nodes_summary_still_gets_its_usage(cluster):
    # Just rescheduled: the pod list says node-2, the usage is still in node-1's summary.
    def to_node_2(pod_list):
        next(pod for pod in pod_list["items"] if pod["metadata"]["uid"] == "u-new")["spec"]["nodeName"] = "node-2"

    cluster.edit("pods.json", to_node_2)
    assert usage(pods(cluster.body())["foo"]) == {
        "cpuPercent": 25.0, "memoryMB": 120.0, "networkRxBytes": 5000, "networkTxBytes": 6000}


def test_the_same_uid_in_two_summaries_takes_the_entry_of_the_pods_own_node(cluster):
    def stale_copy_on_node_2(summaries):
        one = json.loads((cluster.folder / "summary-node-1.json").read_text())
        stale = summary_pod(one, "u-new")
        stale = dict(stale, network={"rxBytes": 1, "txBytes": 2})
        summaries["pods"].insert(0, stale)

    cluster.edit("summary-node-2.json", stale_copy_on_node_2)
    assert usage(pods(cluster.body())["foo"])["networkRxBytes"] == 5000


def test_a_pod_whose_uid_is_in_no_summary_has_no_usage(cluster):
    cluster.edit("summary-node-1.json", lambda summary: summary["pods"].remove(summary_pod(summary, "u-new")))
    foo = pods(cluster.body())["foo"]
    assert usage(foo) == {} and foo["uid"] == "u-new"


def test_an_entry_without_a_uid_is_known_by_namespace_and_name(cluster):
    def without_uids(summary):
        summary["pods"].remove(summary_pod(summary, "u-old"))
        del summary_pod(summary, "u-new")["podRef"]["uid"]

    cluster.edit("summary-node-1.json", without_uids)
    assert usage(pods(cluster.body())["foo"])["networkRxBytes"] == 5000


# Item 2: of a container listed twice, the newest instance counts.

def test_a_container_listed_twice_counts_once_the_newest_instance(cluster):
    bar = pods(cluster.body())["bar-5c8f7d"]
    assert usage(bar) == {"cpuPercent": 0.02, "memoryMB": 50.0, "networkRxBytes": 2048, "networkTxBytes": 1024}


def test_the_newest_instance_wins_in_whatever_order_they_are_listed(cluster):
    cluster.edit("summary-node-1.json", lambda summary: summary_pod(summary, "u-bar")["containers"].reverse())
    assert usage(pods(cluster.body())["bar-5c8f7d"])["memoryMB"] == 50.0


def test_three_instances_of_a_name_beside_another_container_count_the_newest_and_the_other(cluster):
    def more(summary):
        containers = summary_pod(summary, "u-bar")["containers"]
        older = json.loads(json.dumps(containers[1]))
        older["startTime"], older["memory"]["workingSetBytes"] = "2017-04-25T08:00:00+00:00", 10485760
        sidecar = json.loads(json.dumps(containers[0]))
        sidecar["name"], sidecar["memory"]["workingSetBytes"] = "sidecar", 8388608
        sidecar["cpu"]["usageNanoCores"] = 10000000
        containers[1:1] = [older, sidecar]

    cluster.edit("summary-node-1.json", more)
    # bar of 2017-05-01 (50 MiB, 158370 nanocores) + sidecar (8 MiB, 1 % of a core)
    assert usage(pods(cluster.body())["bar-5c8f7d"])["memoryMB"] == 58.0
    assert usage(pods(cluster.body())["bar-5c8f7d"])["cpuPercent"] == 1.02


def test_start_times_compare_as_times_not_as_text(cluster):
    # 09:00 in Paris is 07:00 UTC: older than the dead instance's 08:00Z, though it sorts later as text.
    def offsets(summary):
        new, dead = summary_pod(summary, "u-bar")["containers"]
        new["startTime"], dead["startTime"] = "2017-04-19T09:00:00.5+02:00", "2017-04-19T08:00:00Z"

    cluster.edit("summary-node-1.json", offsets)
    assert usage(pods(cluster.body())["bar-5c8f7d"])["memoryMB"] == 20.0


# Item 4: readings that cannot be true are left out as not measured, never clamped, and the rest is kept.

def test_a_wrapped_usage_nano_cores_is_not_measured_for_the_pod_nor_the_node(cluster):
    body = cluster.body()
    assert "cpuPercent" not in pods(body)["spin-6b9d4"] and "cpuPercent" not in nodes(body)["node-2"]
    assert usage(pods(body)["spin-6b9d4"]) == {"memoryMB": 32.0, "networkRxBytes": 7000, "networkTxBytes": 8000}
    assert nodes(body)["node-2"] == {
        "name": "node-2", "status": "Ready", "kubeletVersion": "v1.31.2", "cpuCores": 2.0, "memoryMB": 1024.0,
        "memoryCapacityMB": 4096.0, "podCount": 1, "podCapacity": 110, "networkRxBytes": 400000,
        "networkTxBytes": 500000, "fsUsedBytes": 10000000000, "fsCapacityBytes": 50000000000}
    assert nodes(body)["node-1"]["cpuPercent"] == 25.0


def test_an_impossible_reading_is_logged_once_not_every_push(cluster, caplog):
    caplog.set_level(logging.INFO, logger="kubewatch_agent")
    collector = KubernetesCollector(environ={"KUBECONFIG": str(cluster.kubeconfig)})
    sample = Sampler(collector)
    for _ in range(3):
        sample()
    collector.close()
    lines = [record.getMessage() for record in caplog.records]
    # The pod's figure is the one the issue saw stored: 18446744073709551000 nanocores as percent of one core.
    assert lines == ["node node-2: cpuPercent 922337203685.48 is impossible (a node uses at most 100 % of its "
                     "cores): sent as not measured; further ones are not logged",
                     "pod default/spin-6b9d4: cpuPercent 1844674407370.96 is impossible (more than the 2 cores of "
                     "its node): sent as not measured; further ones are not logged"]


@pytest.mark.parametrize("nano_cores, node_percent", [
    (2000000000, 100.0),  # both cores busy: a real 100 %, kept
    (2010000000, None),  # 100.5 %: a glitch, never clamped to 100
    (-5000000, None),
    (2**64 - 1, None),
    (0, 0.0),
])
def test_node_cpu_above_its_cores_is_not_measured_never_clamped(cluster, nano_cores, node_percent):
    cluster.edit("summary-node-2.json", lambda summary: summary["node"]["cpu"].update(usageNanoCores=nano_cores))
    assert nodes(cluster.body())["node-2"].get("cpuPercent") == node_percent


@pytest.mark.parametrize("nano_cores, pod_percent", [
    (2000000000, 200.0),  # two full cores of a 2-core node: percent of one core, as docker stats counts
    (2000100000, None),  # 200.01 %: more than the node's 2 cores
    (-1, None),
    (WRAPPED, None),
    (150000000, 15.0),
])
def test_pod_cpu_above_its_nodes_cores_is_not_measured(cluster, nano_cores, pod_percent):
    def change(summary):
        summary_pod(summary, "u-spin")["containers"][0]["cpu"]["usageNanoCores"] = nano_cores

    cluster.edit("summary-node-2.json", change)
    assert pods(cluster.body())["spin-6b9d4"].get("cpuPercent") == pod_percent


def test_one_impossible_container_makes_its_pods_figure_not_measured_not_a_partial_sum(cluster):
    def negative_sidecar(summary):
        containers = summary_pod(summary, "u-new")["containers"]
        sidecar = json.loads(json.dumps(containers[0]))
        sidecar["name"], sidecar["memory"]["workingSetBytes"] = "sidecar", -104857600
        containers.append(sidecar)

    cluster.edit("summary-node-1.json", negative_sidecar)
    assert usage(pods(cluster.body())["foo"]) == {"cpuPercent": 50.0, "networkRxBytes": 5000, "networkTxBytes": 6000}


@pytest.mark.parametrize("field, value, kept", [
    ("workingSetBytes", 4294967296, True),  # all of node-2's 4 GiB
    ("workingSetBytes", 4294967296 + 1048576, False),  # one MiB more
    ("workingSetBytes", 4294967296 + 1, True),  # within what rounding to 0.01 MiB keeps
    ("workingSetBytes", -1, False),
])
def test_node_memory_above_its_capacity_is_not_measured(cluster, field, value, kept):
    cluster.edit("summary-node-2.json", lambda summary: summary["node"]["memory"].update({field: value}))
    assert ("memoryMB" in nodes(cluster.body())["node-2"]) is kept


def test_pod_memory_above_its_nodes_capacity_is_not_measured(cluster):
    def huge(summary):
        summary_pod(summary, "u-spin")["containers"][0]["memory"]["workingSetBytes"] = 5 * 1073741824

    cluster.edit("summary-node-2.json", huge)
    assert usage(pods(cluster.body())["spin-6b9d4"]) == {"networkRxBytes": 7000, "networkTxBytes": 8000}


@pytest.mark.parametrize("change, gone", [
    (lambda node: node["fs"].update(usedBytes=60000000000), "fsUsedBytes"),  # more than the 50 GB it holds
    (lambda node: node["network"].update(rxBytes=-1), "networkRxBytes"),
    (lambda node: node["network"].update(txBytes=2**64 - 616), "networkTxBytes"),
])
def test_node_counters_that_cannot_be_true_are_not_measured_and_the_rest_is_kept(cluster, change, gone):
    cluster.edit("summary-node-2.json", lambda summary: change(summary["node"]))
    node = nodes(cluster.body())["node-2"]
    assert gone not in node
    assert node["memoryMB"] == 1024.0 and node["fsCapacityBytes"] == 50000000000


def test_dry_run_prints_the_right_figures_and_says_what_it_left_out(db_engine, cluster):
    done = agent("--dry-run", "--platform", "kubernetes", env=agent_env(KUBECONFIG=str(cluster.kubeconfig)))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert usage(pods(body)["foo"]) == {
        "cpuPercent": 25.0, "memoryMB": 120.0, "networkRxBytes": 5000, "networkTxBytes": 6000}
    assert usage(pods(body)["bar-5c8f7d"])["memoryMB"] == 50.0
    assert "cpuPercent" not in pods(body)["spin-6b9d4"] and "cpuPercent" not in nodes(body)["node-2"]
    assert "node node-2: cpuPercent 922337203685.48 is impossible" in done.stderr
