"""An agent as a whole: the series of its containers (or of its nodes) added up, point by point."""

from kubewatch import series_query
from kubewatch.kinds import CONTAINERS, NODES
from kubewatch.repository import sample_rows

# Added up over the objects. For a bucket, the sum of the objects' maxima is an upper bound of
# the whole's maximum (their peaks need not coincide); the sum of averages is exact.
SUMMED = ("cpuPercent", "cpuPercentMax", "memoryMB", "memoryMBMax", "networkRxBytesPerSec", "networkTxBytesPerSec")


def kind_of(agent):
    """Return the kind that makes up an agent: its nodes when it pushes any (Kubernetes, host), else its containers."""
    return NODES if agent["node_count"] else CONTAINERS


def agent_series(agent, start, end, step, now, config):
    """Return {"resolution", "step", "of", "points"} for the agent as a whole from start to end (epoch seconds).

    Each point adds up the objects measured at that time. A node's cpuPercent is a share of its
    capacity, so for nodes the CPU figures are the average over the nodes measured, not the sum.
    The objects are read together, one query per tier (series_query.read_each).
    Raises series_query.QueryError as series_query.read_series does.
    """
    kind = kind_of(agent)
    keys = sample_rows.object_keys(kind, agent["id"])
    if not keys:
        return {"resolution": "raw", "step": step, "of": kind.name, "points": []}
    # Every object in one read per tier; added up in the order of their keys, as floats add up differently
    # in another order.
    found = series_query.read_each(kind, agent["id"], keys, start, end, step, now, config)
    totals, counts = {}, {}
    for key in keys:
        for point in found["series"].get(key, ()):
            total = totals.setdefault(point["t"], {})
            for name in SUMMED:
                value = point.get(name)
                if value is not None:
                    total[name] = total.get(name, 0) + value
                    counts[point["t"], name] = counts.get((point["t"], name), 0) + 1
    if kind is NODES:
        for t, total in totals.items():
            for name in ("cpuPercent", "cpuPercentMax"):
                if name in total:
                    total[name] /= counts[t, name]
    points = [{"t": t, **{name: totals[t].get(name) for name in SUMMED}} for t in sorted(totals)]
    return {"resolution": found["resolution"], "step": found["step"], "of": kind.name, "points": points}
