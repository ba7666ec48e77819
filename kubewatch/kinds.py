"""The three kinds of pushed objects: how each is named, described, measured and summed up."""

from typing import NamedTuple

# How a measured number is summed up over a bucket of time:
GAUGE = "gauge"  # a level: its average and its maximum
COUNTER = "counter"  # a cumulative count: its average rate per second
LAST = "last"  # a setting or a total: the last value in the bucket


class Metric(NamedTuple):
    column: str  # in the database
    field: str  # in the push body and the API
    how: str  # GAUGE, COUNTER or LAST
    integer: bool  # stored as a 64-bit integer, else as a double


class Kind(NamedTuple):
    """How one kind of pushed object is stored and read back."""

    name: str  # the key of the push body
    table: str  # one row per object: its identity and its description as last pushed
    rollups: str  # one row per object and bucket of a tier
    identity: tuple  # the columns that name an object within its agent
    described: tuple  # kept once per object, as last pushed
    metrics: tuple  # kept once per sample, in this order
    measured: tuple  # the metrics' columns


def _kind(name, table, rollups, identity, described, metrics):
    return Kind(name, table, rollups, identity, described, metrics, tuple(metric.column for metric in metrics))


_WORKLOAD_METRICS = (
    Metric("cpu_percent", "cpuPercent", GAUGE, False),
    Metric("memory_mb", "memoryMB", GAUGE, False),
    Metric("memory_limit_mb", "memoryLimitMB", LAST, False),
    Metric("network_rx_bytes", "networkRxBytes", COUNTER, True),
    Metric("network_tx_bytes", "networkTxBytes", COUNTER, True),
    Metric("restart_count", "restartCount", LAST, True),
)

CONTAINERS = _kind("containers", "containers", "container_rollups", ("runtime_id",),
                   ("name", "image", "status", "health", "exit_code", "oom_killed"), _WORKLOAD_METRICS)
NODES = _kind("nodes", "nodes", "node_rollups", ("name",),
              ("status", "kubelet_version", "cpu_cores", "memory_capacity_mb", "pod_capacity"), (
                  Metric("cpu_percent", "cpuPercent", GAUGE, False),
                  Metric("memory_mb", "memoryMB", GAUGE, False),
                  Metric("pod_count", "podCount", GAUGE, True),
                  Metric("network_rx_bytes", "networkRxBytes", COUNTER, True),
                  Metric("network_tx_bytes", "networkTxBytes", COUNTER, True),
                  Metric("fs_used_bytes", "fsUsedBytes", GAUGE, True),
                  Metric("fs_capacity_bytes", "fsCapacityBytes", LAST, True),
              ))
PODS = _kind("pods", "pods", "pod_rollups", ("namespace", "name"),
             ("uid", "node_name", "phase", "ready", "container_count", "ready_containers"), _WORKLOAD_METRICS)

KINDS = {kind.name: kind for kind in (CONTAINERS, NODES, PODS)}


def rate_field(metric):
    """Return the API's name for a counter's rate: networkRxBytes -> networkRxBytesPerSec."""
    return metric.field + "PerSec"
