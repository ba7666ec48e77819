"""Each kind of alert rule: which objects of an agent it finds, with the value and a sentence on each."""

import fnmatch
import functools
import re
from typing import NamedTuple

from kubewatch.alerting.observe import metric_index
from kubewatch.alerting.watch import STOPPED

# An agent is disconnected once its last push is this many intervals old (as the agent list says).
DOWN_INTERVALS = 3
THRESHOLD_KINDS = frozenset({"cpu_above", "memory_above", "disk_above"})
# For these kinds forSeconds is the averaging window (or, for restarts, the quiet time before
# resolving); for the others, how long the condition must hold before the alert fires.
WINDOW_KINDS = frozenset({"cpu_above", "memory_above", "container_restarted"})
KINDS = ("agent_down", "container_stopped", "container_restarted", "container_unhealthy", "cpu_above",
         "memory_above", "disk_above", "pod_not_ready", "node_not_ready")


class Finding(NamedTuple):
    value: float | None
    summary: str


@functools.lru_cache(maxsize=256)
def _pattern(glob):
    return re.compile(fnmatch.translate(glob)).match


def _matches(rule, name):
    return rule["match"] is None or _pattern(rule["match"])(name) is not None


def find(rule, agent, watched, now, interval):
    """Return {(object_type, object_name): Finding} of the objects of agent for which rule's condition holds."""
    return _CHECKS[rule["kind"]](rule, agent, watched, now, interval)


def _agent_down(rule, agent, watched, now, interval):
    if agent.last_seen is None or now - agent.last_seen <= DOWN_INTERVALS * interval:
        return {}
    quiet = now - agent.last_seen
    return {("agent", agent.name): Finding(quiet, f"agent {agent.name} has not pushed for {quiet} s")}


def _stop_reason(description):
    status, code = description["status"], description["exit_code"]
    said = f"{description['name']} {'exited' if status == 'exited' else 'is ' + str(status)}"
    if code is not None:
        said += f" with code {code}"
    if description["oom_killed"]:
        said += " (killed: out of memory)"
    return said


def _container_stopped(rule, agent, watched, now, interval):
    found, present = {}, {}
    for description, values, _ in agent.objects("containers"):
        present[description["name"]] = description
    for name, memory in watched.items():
        if not memory.seen_running or not _matches(rule, name):
            continue
        description = present.get(name)
        if description is None:
            found[("container", name)] = Finding(None, f"{name} is missing from the agent's pushes")
        elif description["status"] in STOPPED:
            found[("container", name)] = Finding(description["exit_code"], _stop_reason(description))
    return found


def _container_restarted(rule, agent, watched, now, interval):
    quiet = max(rule["for_seconds"], 1)
    return {("container", name): Finding(memory.restart_count, f"{name} restarted (restart count {memory.restart_count})")
            for name, memory in watched.items()
            if memory.restarted_at is not None and now - memory.restarted_at < quiet and _matches(rule, name)}


def _container_unhealthy(rule, agent, watched, now, interval):
    return {("container", d["name"]): Finding(None, f"{d['name']} is unhealthy")
            for d, _, _ in agent.objects("containers")
            if d["health"] == "unhealthy" and d["status"] == "running" and _matches(rule, d["name"])}


def _object_name(kind, description):
    return f"{description['namespace']}/{description['name']}" if kind == "pods" else description["name"]


_OBJECT_TYPE = {"containers": "container", "pods": "pod", "nodes": "node"}


def _averages(rule, agent, percent):
    """Yield (object type, name, average) of percent(kind, description, values) over the rule's window, per object."""
    window = rule["for_seconds"]
    since = agent.last_push_ts - window
    for kind in ("containers", "pods", "nodes"):
        for description, values, samples in agent.objects(kind):
            name = _object_name(kind, description)
            if not samples or samples[0][0] > since or not _matches(rule, name):
                continue  # not watched for the whole window yet
            recent = [sampled for t, sampled in samples if t > since] if window else [values]
            measured = [p for p in (percent(kind, description, v) for v in recent) if p is not None]
            if measured:
                yield _OBJECT_TYPE[kind], name, sum(measured) / len(measured)


_CPU = {kind: metric_index(kind, "cpu_percent") for kind in ("containers", "pods", "nodes")}
_MEMORY = {kind: metric_index(kind, "memory_mb") for kind in ("containers", "pods", "nodes")}
_LIMIT = {kind: metric_index(kind, "memory_limit_mb") for kind in ("containers", "pods")}


def _cpu(kind, description, values):
    return values[_CPU[kind]]


def _memory(kind, description, values):
    used = values[_MEMORY[kind]]
    limit = description["memory_capacity_mb"] if kind == "nodes" else values[_LIMIT[kind]]
    return used / limit * 100 if used is not None and limit else None


def _above(what, percent):
    def check(rule, agent, watched, now, interval):
        threshold = rule["threshold"]
        return {(object_type, name): Finding(round(average, 2), f"{name}: {what} {average:.1f} % above {threshold:g} %")
                for object_type, name, average in _averages(rule, agent, percent) if average > threshold}
    return check


_FS_USED, _FS_CAPACITY = metric_index("nodes", "fs_used_bytes"), metric_index("nodes", "fs_capacity_bytes")


def _disk_above(rule, agent, watched, now, interval):
    found = {}
    for description, values, _ in agent.objects("nodes"):
        used, capacity = values[_FS_USED], values[_FS_CAPACITY]
        if used is not None and capacity and _matches(rule, description["name"]):
            percent = used / capacity * 100
            if percent > rule["threshold"]:
                found[("node", description["name"])] = Finding(
                    round(percent, 2), f"{description['name']}: disk {percent:.1f} % used, above {rule['threshold']:g} %")
    return found


def _pod_not_ready(rule, agent, watched, now, interval):
    found = {}
    for description, _, _ in agent.objects("pods"):
        name = _object_name("pods", description)
        if description["ready"] == 0 and description["phase"] != "Succeeded" and _matches(rule, name):
            found[("pod", name)] = Finding(None, f"pod {name} is not ready (phase {description['phase']})")
    return found


def _node_not_ready(rule, agent, watched, now, interval):
    return {("node", d["name"]): Finding(None, f"node {d['name']} is {d['status']}")
            for d, _, _ in agent.objects("nodes")
            if d["status"] not in (None, "Ready") and _matches(rule, d["name"])}


_CHECKS = {"agent_down": _agent_down, "container_stopped": _container_stopped,
           "container_restarted": _container_restarted, "container_unhealthy": _container_unhealthy,
           "cpu_above": _above("CPU", _cpu), "memory_above": _above("memory", _memory), "disk_above": _disk_above,
           "pod_not_ready": _pod_not_ready, "node_not_ready": _node_not_ready}
