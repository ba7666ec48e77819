"""The host collector, for real, on the machine running the tests."""

import os
import shutil
import socket

from kubewatch.api.push_schema import PushSchema
from kubewatch_agent.collectors.host import HostCollector
from kubewatch_agent.sample import Sampler


def test_the_machine_is_one_ready_node_with_sane_figures():
    [node] = HostCollector().collect()["nodes"]
    assert (node["name"], node["status"], node["cpuCores"]) == (socket.gethostname(), "Ready", os.cpu_count())
    assert 0 <= node["cpuPercent"] <= 100
    assert 0 < node["memoryMB"] < node["memoryCapacityMB"]
    disk = shutil.disk_usage("/")
    assert node["fsCapacityBytes"] == disk.total
    assert abs(node["fsUsedBytes"] - disk.used) < 1 << 30  # other processes write meanwhile
    assert node["networkRxBytes"] >= 0 and node["networkTxBytes"] >= 0


def test_network_counters_grow_and_cpu_is_measured_between_collections():
    collector = HostCollector()
    [first] = collector.collect()["nodes"]
    [second] = collector.collect()["nodes"]
    assert second["networkRxBytes"] >= first["networkRxBytes"]
    assert second["networkTxBytes"] >= first["networkTxBytes"]
    assert 0 <= second["cpuPercent"] <= 100


def test_host_push_body_is_valid_and_has_no_containers_or_pods():
    loaded = PushSchema().load(Sampler(HostCollector())())
    assert (loaded["containers"], loaded["pods"], len(loaded["nodes"])) == ([], [], 1)
