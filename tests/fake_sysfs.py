"""A sysfs tree laid out as the kernel does, and psutil's per-interface counters fed to the host collector."""

import os
from typing import NamedTuple

import psutil
import pytest


class Counters(NamedTuple):
    """psutil's per-interface counters (snetio), the fields the collector reads first."""

    bytes_sent: int
    bytes_recv: int
    packets_sent: int = 0
    packets_recv: int = 0
    errin: int = 0
    errout: int = 0
    dropin: int = 0
    dropout: int = 0


PHYSICAL = {"eth0": "pci0000:00/0000:00:03.0/virtio0", "eth1": "pci0000:00/0000:00:04.0/virtio1",
            "wlan0": "pci0000:00/0000:00:14.3", "enp3s0": "pci0000:00/0000:00:1c.0/0000:03:00.0"}
# The Docker host: eth0 carries the traffic, docker0 and a veth relay it again.
DOCKER_HOST = {"lo": Counters(5 << 30, 5 << 30), "eth0": Counters(10485760, 104857600),
               "docker0": Counters(104857600, 10485760), "veth3f2a1b0": Counters(104857600, 10485760)}


def sysfs_tree(root, names):
    """Lay out root as /sys: class/net/<name> links to devices/<bus path>/net/<name>, virtual ones included."""
    for name in names:
        bus = PHYSICAL.get(name, "virtual")
        device = root / "devices" / bus / "net" / name
        device.mkdir(parents=True)
        (device / "address").write_text("02:42:ac:11:00:02\n")
        (root / "class" / "net").mkdir(parents=True, exist_ok=True)
        (root / "class" / "net" / name).symlink_to(os.path.relpath(device, root / "class" / "net"))
    return root


@pytest.fixture
def feed(monkeypatch):
    """Return a function that makes psutil report the given per-interface counters."""
    def fed(counters):
        monkeypatch.setattr(psutil, "net_io_counters", lambda pernic=False, nowrap=True: dict(counters))
    return fed
