"""Figures that cannot be true, left out as not measured before a push is stored; the rest is kept.

A kubelet now and then reports a wrapped counter (usageNanoCores of 18446744073709551000): stored,
it would stand in every tier as a real reading, and a clamped one as a real 100 %. The agent
leaves such figures out (kubewatch_agent/plausible.py); the server checks again, with the same
bounds, for any agent. What is not a possible number at all (negative, not finite, past 64 bits)
is left out when the push is loaded (kubewatch/api/push_validation.py).
"""

from typing import NamedTuple

# More cores than any machine has: a container's or pod's cpuPercent counts 100 per core.
MAX_CORES = 4096
# A pebibyte, in the payload's MiB: more memory than any machine has.
MAX_MEMORY_MB = 2.0 ** 30


class Impossible(NamedTuple):
    """A figure left out of a push: where it was, what it was, and why it cannot be true."""

    kind: str  # containers, nodes or pods
    identity: str  # the object's id, name, or namespace/name
    field: str  # as the payload names it
    value: object
    why: str


def leave_out_impossible(push):
    """Set each figure of a loaded push that cannot be true to None (not measured); return [Impossible].

    A node's cpuPercent above 100, its memoryMB above its memoryCapacityMB, its fsUsedBytes above
    its fsCapacityBytes; a container's or pod's cpuPercent above 100 per core of its node (a pod's
    own node, the largest node of the push for containers, else MAX_CORES), its memoryMB above its
    memoryLimitMB or its node's capacity; any memory above MAX_MEMORY_MB, cores above MAX_CORES.
    """
    left_out = []
    cores, memory = {}, {}
    for node in push.nodes:
        if node.cpu_cores is not None and node.cpu_cores > MAX_CORES:
            _leave_out(left_out, "nodes", node.name, node, "cpu_cores", "more cores than any machine has")
        if node.memory_capacity_mb is not None and node.memory_capacity_mb > MAX_MEMORY_MB:
            _leave_out(left_out, "nodes", node.name, node, "memory_capacity_mb", "more memory than any machine has")
        if node.cpu_percent is not None and node.cpu_percent > 100:
            _leave_out(left_out, "nodes", node.name, node, "cpu_percent", "a node uses at most 100 % of its cores")
        if node.memory_mb is not None and node.memory_mb > (node.memory_capacity_mb or MAX_MEMORY_MB):
            _leave_out(left_out, "nodes", node.name, node, "memory_mb", "more memory than the node has")
        if node.fs_used_bytes is not None and node.fs_capacity_bytes and node.fs_used_bytes > node.fs_capacity_bytes:
            _leave_out(left_out, "nodes", node.name, node, "fs_used_bytes", "more than the filesystem holds")
        if node.cpu_cores:
            cores[node.name] = node.cpu_cores
        if node.memory_capacity_mb:
            memory[node.name] = node.memory_capacity_mb
    # A Docker host reports itself as a node beside its containers: they can use no more than it has.
    most_cores, most_memory = max(cores.values(), default=MAX_CORES), max(memory.values(), default=MAX_MEMORY_MB)
    cpu_bound = most_cores * 100
    # One quick pass finds the few to look at closely: this runs on every push.
    for item in [c for c in push.containers if (c.cpu_percent or 0) > cpu_bound or (c.memory_mb or 0) > min(
            c.memory_limit_mb or MAX_MEMORY_MB, most_memory)]:
        _workload(left_out, "containers", item.runtime_id, item, most_cores, most_memory)
    fewest_cores, least_memory = min(cores.values(), default=MAX_CORES), min(memory.values(), default=MAX_MEMORY_MB)
    for item in [p for p in push.pods if (p.cpu_percent or 0) > fewest_cores * 100 or (p.memory_mb or 0) > min(
            p.memory_limit_mb or MAX_MEMORY_MB, least_memory)]:
        _workload(left_out, "pods", f"{item.namespace}/{item.name}", item, cores.get(item.node_name, MAX_CORES),
                  memory.get(item.node_name, MAX_MEMORY_MB))
    return left_out


def _workload(left_out, kind, identity, item, cores, memory_mb):
    """Leave out a container's or pod's CPU above cores and memory above its limit or memory_mb."""
    if item.cpu_percent is not None and item.cpu_percent > cores * 100:
        _leave_out(left_out, kind, identity, item, "cpu_percent", f"more than the {cores:g} cores there are")
    limit = item.memory_limit_mb
    if limit and limit <= MAX_MEMORY_MB and item.memory_mb is not None and item.memory_mb > limit:
        _leave_out(left_out, kind, identity, item, "memory_mb", "more memory than its limit")
    elif item.memory_mb is not None and item.memory_mb > memory_mb:
        _leave_out(left_out, kind, identity, item, "memory_mb", "more memory than the machine has")


_PAYLOAD_NAMES = {"cpu_cores": "cpuCores", "memory_capacity_mb": "memoryCapacityMB", "cpu_percent": "cpuPercent",
                  "memory_mb": "memoryMB", "fs_used_bytes": "fsUsedBytes"}


def _leave_out(left_out, kind, identity, item, attribute, why):
    left_out.append(Impossible(kind, identity, _PAYLOAD_NAMES[attribute], getattr(item, attribute), why))
    setattr(item, attribute, None)
