"""The host collector: the machine itself as one node, for a VM with no container runtime."""

import socket

import psutil

from kubewatch_agent.collectors import mib

# The first CPU reading needs a span to measure over; later ones measure since the previous push.
FIRST_CPU_SPAN_SECONDS = 0.25


class HostCollector:
    """Read this machine through psutil."""

    platform = "host"

    def __init__(self, root="/"):
        self.root = root
        self._measured_cpu = False

    def collect(self):
        """Return {"nodes": [this machine]}: CPU, memory, network and root filesystem."""
        cpu = psutil.cpu_percent(interval=None if self._measured_cpu else FIRST_CPU_SPAN_SECONDS)
        self._measured_cpu = True
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(self.root)
        # Loopback traffic never leaves the machine: counting it would double every local call.
        interfaces = [counters for name, counters in psutil.net_io_counters(pernic=True).items()
                      if not name.startswith("lo")]
        node = {"name": socket.gethostname(), "status": "Ready", "cpuCores": psutil.cpu_count() or 1,
                "cpuPercent": round(cpu, 2),
                # Used as `free` counts it: what is not available to new programs.
                "memoryMB": mib(memory.total - memory.available), "memoryCapacityMB": mib(memory.total),
                "networkRxBytes": sum(counters.bytes_recv for counters in interfaces),
                "networkTxBytes": sum(counters.bytes_sent for counters in interfaces),
                "fsUsedBytes": disk.used, "fsCapacityBytes": disk.total}
        return {"nodes": [node]}
