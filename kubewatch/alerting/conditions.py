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
    found = {}
    present = agent.present_by_name["containers"]
    for name, memory in watched.items():
        if memory.running or not memory.seen_running or not _matches(rule, name):
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
    return {("container", name): Finding(None, f"{name} is unhealthy")
            for _, name, d in agent.present["containers"]
            if d["health"] == "unhealthy" and d["status"] == "running" and _matches(rule, name)}


_OBJECT_TYPE = {"containers": "container", "pods": "pod", "nodes": "node"}


def _averages_above(rule, agent, metric):
    """Yield (object type, name, average) of each object whose metric ("cpu" or "memory") averages above
    the rule's threshold over its window.

    An object counts once it was in the push at or before the window's start: watched the whole window.
    """
    window, threshold = rule["for_seconds"], rule["threshold"]
    since = agent.last_push_ts - window
    for kind in ("containers", "pods", "nodes"):
        pushes = agent.pushes[kind]
        if not pushes or pushes[0].ts > since or not agent.present[kind]:
            continue
        recent = [p for p in pushes if p.ts > since] if window else [pushes[-1]]
        if max(getattr(p, metric + "_peak") for p in recent) <= threshold:
            continue  # no value above the threshold, so no average above it: the usual case, not averaged
        keys = recent[-1].keys
        if all(p.keys == keys for p in recent):  # the usual case: the same objects in the same order
            averages = dict(zip(keys, [sum(column) / len(column) for column in zip(*[getattr(p, metric)
                                                                                    for p in recent])]))
            if any(average != average for average in averages.values()):  # NaN: a push did not measure one
                averages = _averages_by_key(recent, metric)
        else:
            averages = _averages_by_key(recent, metric)
        hot = [(key, average) for key, average in averages.items() if average > threshold]
        if not hot:
            continue
        anchor = set([p for p in pushes if p.ts <= since][-1].keys)
        names = agent.names[kind]
        for key, average in hot:
            name = names.get(key)
            if name is not None and (key in anchor or not window) and _matches(rule, name):
                yield _OBJECT_TYPE[kind], name, average


def _averages_by_key(recent, metric):
    """Return {key: average} over pushes whose objects differ, leaving out what a push did not measure."""
    sums, counts = {}, {}
    for pushed in recent:
        for key, value in zip(pushed.keys, getattr(pushed, metric)):
            if value == value:
                sums[key] = sums.get(key, 0.0) + value
                counts[key] = counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


def _above(what, metric):
    def check(rule, agent, watched, now, interval):
        threshold = rule["threshold"]
        return {(object_type, name): Finding(round(average, 2), f"{name}: {what} {average:.1f} % above {threshold:g} %")
                for object_type, name, average in _averages_above(rule, agent, metric)}
    return check


_FS_USED, _FS_CAPACITY = metric_index("nodes", "fs_used_bytes"), metric_index("nodes", "fs_capacity_bytes")


def _disk_above(rule, agent, watched, now, interval):
    found = {}
    latest = agent.latest["nodes"]
    for key, name, _ in agent.present["nodes"]:
        values = latest[key]
        used, capacity = values[_FS_USED], values[_FS_CAPACITY]  # -1: not measured, as packed
        if used >= 0 and capacity > 0 and _matches(rule, name):
            percent = used / capacity * 100
            if percent > rule["threshold"]:
                found[("node", name)] = Finding(
                    round(percent, 2), f"{name}: disk {percent:.1f} % used, above {rule['threshold']:g} %")
    return found


def _pod_not_ready(rule, agent, watched, now, interval):
    return {("pod", name): Finding(None, f"pod {name} is not ready (phase {d['phase']})")
            for _, name, d in agent.present["pods"]
            if d["ready"] == 0 and d["phase"] != "Succeeded" and _matches(rule, name)}


def _node_not_ready(rule, agent, watched, now, interval):
    return {("node", name): Finding(None, f"node {name} is {d['status']}")
            for _, name, d in agent.present["nodes"]
            if d["status"] not in (None, "Ready") and _matches(rule, name)}


_CHECKS = {"agent_down": _agent_down, "container_stopped": _container_stopped,
           "container_restarted": _container_restarted, "container_unhealthy": _container_unhealthy,
           "cpu_above": _above("CPU", "cpu"), "memory_above": _above("memory", "memory"), "disk_above": _disk_above,
           "pod_not_ready": _pod_not_ready, "node_not_ready": _node_not_ready}
