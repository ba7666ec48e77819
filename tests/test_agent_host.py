"""The host collector: for real on the machine running the tests, and on a sysfs tree laid out as the kernel does."""

import json
import os
import shutil
import socket

import psutil
import pytest

from fake_sysfs import DOCKER_HOST, Counters, feed, sysfs_tree  # noqa: F401 (feed is a fixture)
from kubewatch.api.push_schema import PushSchema
from kubewatch_agent.cli import main
from kubewatch_agent.collectors import host
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


# The machine's traffic: only interfaces the kernel does not list as virtual, read from a sysfs tree
# built as the kernel lays it out (class/net/<if> a symlink into devices/), with psutil's counters fed.

def traffic(collector):
    [node] = collector.collect()["nodes"]
    return node.get("networkRxBytes"), node.get("networkTxBytes")


def test_a_docker_hosts_bridge_and_veth_are_not_counted_again(tmp_path, feed):
    feed(DOCKER_HOST)
    sysfs = sysfs_tree(tmp_path / "sys", DOCKER_HOST)
    assert traffic(HostCollector(sysfs=sysfs)) == (104857600, 10485760)


@pytest.mark.parametrize("virtual", ["cni0", "flannel.1", "vxlan.calico", "cali1a2b3c4d5e6", "weave", "tun0",
                                     "wg0", "br-5f3e1c2d4a6b", "bond0", "eth0.100", "virbr0", "kube-ipvs0"])
def test_every_kind_of_virtual_device_is_left_out(tmp_path, feed, virtual):
    feed({"eth0": Counters(1000, 2000), virtual: Counters(30000, 40000)})
    assert traffic(HostCollector(sysfs=sysfs_tree(tmp_path / "sys", ["eth0", virtual]))) == (2000, 1000)


def test_every_physical_interface_counts_whatever_its_name(tmp_path, feed):
    feed({"enp3s0": Counters(1, 10), "wlan0": Counters(100, 1000), "eth1": Counters(10000, 100000),
          "docker0": Counters(7, 7)})
    sysfs = sysfs_tree(tmp_path / "sys", ["enp3s0", "wlan0", "eth1", "docker0"])
    assert traffic(HostCollector(sysfs=sysfs)) == (101010, 10101)


def test_named_interfaces_are_counted_as_named_even_virtual_ones(tmp_path, feed):
    feed(DOCKER_HOST)
    sysfs = sysfs_tree(tmp_path / "sys", DOCKER_HOST)
    assert traffic(HostCollector(sysfs=sysfs, interfaces=["docker0"])) == (10485760, 104857600)
    assert traffic(HostCollector(sysfs=sysfs, interfaces=["eth0", "veth3f2a1b0"])) == (104857600 + 10485760,) * 2


def test_a_named_interface_that_is_absent_is_logged_once_and_the_others_count(tmp_path, feed, caplog):
    feed(DOCKER_HOST)
    collector = HostCollector(sysfs=sysfs_tree(tmp_path / "sys", DOCKER_HOST), interfaces=["eth0", "eth9"])
    assert [traffic(collector) for _ in range(3)] == [(104857600, 10485760)] * 3
    assert [record.getMessage() for record in caplog.records] == [
        "network interfaces not found, not counted: eth9"]


def test_with_no_interface_to_count_the_traffic_is_not_measured_rather_than_zero(tmp_path, feed):
    # A container's own network namespace: its eth0 is one end of a veth pair.
    feed({"lo": Counters(1, 1), "eth0": Counters(500, 600)})
    sysfs = sysfs_tree(tmp_path / "sys", ["lo", "veth-as-eth0"])
    (sysfs / "class" / "net" / "veth-as-eth0").rename(sysfs / "class" / "net" / "eth0")
    assert traffic(HostCollector(sysfs=sysfs)) == (None, None)
    assert traffic(HostCollector(sysfs=sysfs, interfaces=["eth3"])) == (None, None)


def test_an_interface_gone_between_psutil_and_sysfs_is_not_counted(tmp_path, feed):
    feed({"eth0": Counters(1000, 2000), "veth0": Counters(5, 5)})
    assert traffic(HostCollector(sysfs=sysfs_tree(tmp_path / "sys", ["eth0"]))) == (2000, 1000)


def test_without_sysfs_every_interface_but_loopback_counts(tmp_path, feed):
    feed({"lo0": Counters(9, 9), "en0": Counters(1000, 2000), "en1": Counters(10, 20)})
    assert traffic(HostCollector(sysfs=tmp_path / "no-sysfs")) == (2020, 1010)


def test_this_machines_physical_interfaces_are_counted_and_loopback_is_not():
    counters = psutil.net_io_counters(pernic=True)
    counted = HostCollector().counted_interfaces(counters)
    assert "lo" in counters and "lo" not in counted
    for name in counted:
        assert not os.path.realpath(f"/sys/class/net/{name}").startswith("/sys/devices/virtual/")


@pytest.mark.parametrize("argv, environ, expected", [
    (["--dry-run", "--platform", "host"], {}, (104857600, 10485760)),
    (["--dry-run", "--platform", "host", "--interfaces", "eth0,docker0"], {}, (104857600 + 10485760,) * 2),
    (["--dry-run", "--platform", "host"], {"KUBEWATCH_INTERFACES": "docker0, veth3f2a1b0"},
     (2 * 10485760, 2 * 104857600)),
    (["--dry-run", "--platform", "host", "--interfaces", "eth0"], {"KUBEWATCH_INTERFACES": "docker0"},
     (104857600, 10485760)),
])
def test_dry_run_counts_the_physical_interfaces_or_the_ones_named(tmp_path, feed, monkeypatch, capsys, argv,
                                                                  environ, expected):
    feed(DOCKER_HOST)
    monkeypatch.setattr(host, "SYSFS", sysfs_tree(tmp_path / "sys", DOCKER_HOST))
    assert main(argv, environ) == 0
    [node] = json.loads(capsys.readouterr().out)["nodes"]
    assert (node["networkRxBytes"], node["networkTxBytes"]) == expected
