"""The host collector: the machine itself as one node, on a VM or beside the containers of a Docker host."""

import logging
import os
import socket
from pathlib import Path

import psutil

from kubewatch_agent.collectors import mib

# The first CPU reading needs a span to measure over; later ones measure since the previous push.
FIRST_CPU_SPAN_SECONDS = 0.25
SYSFS = Path("/sys")

log = logging.getLogger("kubewatch_agent")


class HostCollector:
    """Read this machine through psutil; its traffic from the interfaces that carry it out of the machine.

    `interfaces` names the interfaces to count (None: every one the kernel does not list as virtual);
    `sysfs` is where sysfs is mounted (default /sys).
    """

    platform = "host"

    def __init__(self, root="/", interfaces=None, sysfs=None):
        self.root = root
        self.interfaces = tuple(interfaces) if interfaces else None
        self.sysfs = Path(sysfs or SYSFS)
        self._measured_cpu = False
        self._missing = None

    def collect(self):
        """Return {"nodes": [this machine]}: CPU, memory, network and root filesystem."""
        cpu = psutil.cpu_percent(interval=None if self._measured_cpu else FIRST_CPU_SPAN_SECONDS)
        self._measured_cpu = True
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(self.root)
        node = {"name": socket.gethostname(), "status": "Ready", "cpuCores": psutil.cpu_count() or 1,
                "cpuPercent": round(cpu, 2),
                # Used as `free` counts it: what is not available to new programs.
                "memoryMB": mib(memory.total - memory.available), "memoryCapacityMB": mib(memory.total),
                "fsUsedBytes": disk.used, "fsCapacityBytes": disk.total}
        counted = self.counted_interfaces(psutil.net_io_counters(pernic=True))
        if counted:  # none at all (a container's own network namespace): not measured, rather than 0
            node["networkRxBytes"] = sum(counters.bytes_recv for counters in counted.values())
            node["networkTxBytes"] = sum(counters.bytes_sent for counters in counted.values())
        return {"nodes": [node]}

    def counted_interfaces(self, pernic):
        """Return {name: counters} of the interfaces whose traffic is the machine's own."""
        if self.interfaces is not None:
            missing = sorted(set(self.interfaces) - set(pernic))
            if missing != self._missing:  # logged when the set of missing names changes, not every push
                self._missing = missing
                if missing:
                    log.warning("network interfaces not found, not counted: %s", ", ".join(missing))
            return {name: pernic[name] for name in self.interfaces if name in pernic}
        return {name: counters for name, counters in pernic.items() if self.is_physical(name)}

    def is_physical(self, name):
        """Return whether the kernel lists interface name as a device of its own, not a virtual one.

        Bridges, veth pairs, CNI, overlay, VLAN, bond, tunnel and loopback devices live under
        /sys/devices/virtual/net: they relay traffic a physical interface already counted.
        Without sysfs (not Linux), every interface but loopback counts.
        """
        classes = self.sysfs / "class" / "net"
        if not classes.is_dir():
            return not name.startswith("lo")
        try:
            device = Path(os.path.realpath(classes / name, strict=True))
        except OSError:  # gone since psutil listed it
            return False
        virtual = Path(os.path.realpath(self.sysfs)) / "devices" / "virtual" / "net"
        return not device.is_relative_to(virtual)
