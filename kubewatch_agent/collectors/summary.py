"""The kubelet's summary API (/stats/summary): which entry is which pod's, and what its containers add up to."""

from datetime import datetime, timezone

from kubewatch_agent.collectors import mib
from kubewatch_agent.plausible import counter


def pod_figures(entry):
    """Return cpuPercent, memoryMB and the network counters of one pod entry of a summary (None: not measured)."""
    measured = newest_instances(entry.get("containers") or [])
    nano_cores = _total([dig(container, "cpu", "usageNanoCores") for container in measured])
    working_set = _total([dig(container, "memory", "workingSetBytes") for container in measured])
    return {"cpuPercent": None if nano_cores is None else round(nano_cores / 1e7, 2),  # 1e9 nanocores = 100 %
            "memoryMB": None if working_set is None else mib(working_set),
            "networkRxBytes": dig(entry, "network", "rxBytes"), "networkTxBytes": dig(entry, "network", "txBytes")}


def newest_instances(containers):
    """Return the summary's containers keeping, of each name, the instance started last.

    The kubelet may list a container twice, the running instance beside a dead one it has not
    cleaned up yet: summing both would count the dead one's memory as in use.
    """
    newest = {}
    for container in containers:
        name = container.get("name")
        if name not in newest or _started(container) >= _started(newest[name]):
            newest[name] = container
    return list(newest.values())


def _started(container):
    """Return when container started, as a comparable UTC datetime; the oldest possible when unknown."""
    try:
        return datetime.fromisoformat(container["startTime"].replace("Z", "+00:00")).astimezone(timezone.utc)
    except (KeyError, TypeError, AttributeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)


def _total(values):
    """Return the sum of the containers' readings, None when none was measured, or the first impossible one.

    A wrapped or negative reading passes on as the pod's figure rather than into a sum that could
    look possible: kubewatch_agent.plausible then leaves it out as not measured, and says so.
    """
    measured = [value for value in values if value is not None]
    impossible = [value for value in measured if counter(value) is None]
    return impossible[0] if impossible else sum(measured) if measured else None


def pod_usage(summaries):
    """Return {pod uid: {node name: the pod's entry}} from {node name: summary (None: no answer)} of every node.

    A pod is matched by its uid, so an older pod of the same namespace and name, still in a summary,
    lends it nothing; where a uid is in several summaries, the entry of the pod's own node wins.
    """
    found = {}
    for node, summary in summaries.items():
        for entry in (summary or {}).get("pods") or ():
            reference = entry.get("podRef") or {}
            found.setdefault(_key(reference), {})[node] = entry
    return found


def entries_of(usage, pod):
    """Return {node name: summary entry} of pod from what pod_usage() returned; None when it has none."""
    metadata = pod["metadata"]
    # An entry whose podRef has no uid (not seen from a kubelet, but allowed) is known by namespace and name.
    return usage.get(metadata.get("uid")) or usage.get((metadata.get("namespace", ""), metadata.get("name")))


def _key(reference):
    # A uid names one pod for its whole life; namespace and name are reused by the next pod of a StatefulSet or Job.
    return reference.get("uid") or (reference.get("namespace", ""), reference.get("name"))


def dig(obj, *keys):
    """Return obj[k1][k2]..., or None where a level is missing."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj
