"""Turning samples into series: counter rates, and buckets aligned to a step."""

def counter_rate(previous, current, seconds):
    """Return bytes per second between two counter readings; a counter that went down was reset."""
    if previous is None or current is None or seconds <= 0:
        return None
    increase = current - previous if current >= previous else current  # restarted from zero
    return increase / seconds


def raw_points(samples, start):
    """Return one point per sample at or after start; the sample before start only seeds the rates."""
    points, previous = [], None
    for ts, cpu, memory, limit, rx, tx, restarts in samples:
        if ts >= start:
            elapsed = ts - previous[0] if previous else 0
            points.append({
                "t": ts, "cpuPercent": cpu, "memoryMB": memory, "memoryLimitMB": limit,
                "networkRxBytesPerSec": counter_rate(previous and previous[4], rx, elapsed),
                "networkTxBytesPerSec": counter_rate(previous and previous[5], tx, elapsed),
                "restartCount": restarts,
            })
        previous = (ts, cpu, memory, limit, rx, tx, restarts)
    return points


def _average(values):
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _maximum(values):
    present = [v for v in values if v is not None]
    return max(present) if present else None


def bucketed_points(points, step):
    """Group raw points into buckets starting at whole multiples of step since the epoch.

    Each bucket has averages and maxima of CPU and memory, average rates and the last restart
    count. Buckets without samples are left out.
    """
    buckets = {}
    for point in points:
        buckets.setdefault(point["t"] - point["t"] % step, []).append(point)
    return [{
        "t": start,
        "cpuPercent": _average([p["cpuPercent"] for p in group]),
        "cpuPercentMax": _maximum([p["cpuPercent"] for p in group]),
        "memoryMB": _average([p["memoryMB"] for p in group]),
        "memoryMBMax": _maximum([p["memoryMB"] for p in group]),
        "networkRxBytesPerSec": _average([p["networkRxBytesPerSec"] for p in group]),
        "networkTxBytesPerSec": _average([p["networkTxBytesPerSec"] for p in group]),
        "restartCount": group[-1]["restartCount"],
    } for start, group in sorted(buckets.items())]
