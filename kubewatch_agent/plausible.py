"""What a reading can physically be: a figure that cannot be true is sent as not measured, never clamped.

Collectors sometimes read glitches: a kubelet's usageNanoCores wrapped below zero as an unsigned
64-bit number (18446744073709551000), a counter gone negative, memory above what the machine has.
Clamping would store the glitch as a real 100 %, and one negative number would get the whole push
refused; so each such figure is left out of its object (the payload's "not measured") and the rest
of the push goes on. Each kind of glitch is logged once, not every push.
"""

import logging
import math

# The server keeps counters as signed 64-bit integers: anything larger is a wrapped or garbled reading.
MAX_COUNTER = 2**63 - 1
COUNTERS = ("networkRxBytes", "networkTxBytes", "fsUsedBytes", "fsCapacityBytes", "restartCount", "podCount",
            "podCapacity", "containerCount", "readyContainers")

log = logging.getLogger("kubewatch_agent")


def counter(value):
    """Return value when it is a possible count of bytes or events (0 to 2^63-1), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value if 0 <= value <= MAX_COUNTER else None


class Plausibility:
    """Check push bodies; remember which kinds of impossible figures were already logged."""

    def __init__(self, logger=log):
        self.logger = logger
        self._logged = set()

    def __call__(self, body):
        """Return body with every impossible figure left out of its object; the body itself is not changed."""
        nodes = [self._checked("node", node, _node_bounds(node)) for node in body.get("nodes", [])]
        by_name = {node["name"]: node for node in body.get("nodes", [])}
        return {**body, "nodes": nodes,
                "containers": [self._checked("container", container, _container_bounds(container))
                               for container in body.get("containers", [])],
                "pods": [self._checked("pod", pod, _pod_bounds(by_name.get(pod.get("nodeName")) or {}))
                         for pod in body.get("pods", [])]}

    def _checked(self, kind, found, bounds):
        kept = {}
        for key, value in found.items():
            reason = _impossible(key, value, bounds)
            if reason is None:
                kept[key] = value
            else:
                self._left_out(kind, found, key, value, reason)
        return kept

    def _left_out(self, kind, found, key, value, reason):
        # Once per kind of object, field and reason: a kubelet that glitches every minute must not flood the log.
        if (kind, key, reason) in self._logged:
            return
        self._logged.add((kind, key, reason))
        name = "/".join(str(found[part]) for part in ("namespace", "name") if part in found) or found.get("id")
        self.logger.warning("%s %s: %s %r is impossible (%s): sent as not measured; further ones are not logged",
                            kind, name, key, value, reason)


def _impossible(key, value, bounds):
    """Return why value cannot be true for key, or None when it can."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or key == "exitCode":
        return None  # an exit code is the process's own number, negative ones included
    if not math.isfinite(value):
        return "not a number"
    if value < 0 or math.copysign(1, value) < 0:  # -0.0 is what rounding a small negative reading leaves
        return "negative"
    if key in COUNTERS and value > MAX_COUNTER:
        return "beyond a 64-bit counter"
    bound = bounds.get(key)
    if bound is not None and value > bound[0]:
        return bound[1]
    return None


def _node_bounds(node):
    """Return {field: (most it can be, why)} for a node's own figures."""
    bounds = {"cpuPercent": (100.0, "a node uses at most 100 % of its cores")}
    if node.get("memoryCapacityMB"):
        bounds["memoryMB"] = (node["memoryCapacityMB"], "more memory than the node has")
    if counter(node.get("fsCapacityBytes")):
        bounds["fsUsedBytes"] = (node["fsCapacityBytes"], "more than the filesystem holds")
    return bounds


def _container_bounds(container):
    """Return {field: (most it can be, why)} for a container (Docker reports the host's memory when unlimited)."""
    if container.get("memoryLimitMB"):
        return {"memoryMB": (container["memoryLimitMB"], "more memory than its limit")}
    return {}


def _pod_bounds(node):
    """Return {field: (most it can be, why)} for a pod on node (an empty dict when its node is not known)."""
    bounds = {}
    if node.get("cpuCores"):
        bounds["cpuPercent"] = (node["cpuCores"] * 100, f"more than the {node['cpuCores']:g} cores of its node")
    if node.get("memoryCapacityMB"):
        bounds["memoryMB"] = (node["memoryCapacityMB"], "more memory than its node has")
    return bounds
