"""Turning samples into series: counter rates, and summaries of buckets of time that merge exactly.

A summary holds, per metric of a kind (see kubewatch/kinds.py), what its bucket needs and
nothing that would not merge: a gauge's (sum, max, count), a counter's (sum of rates, count),
a last value's (ts, value); None while nothing was measured. Rollups store them; queries merge
them into buckets of any whole multiple of the rollup's step.
"""

from kubewatch.kinds import COUNTER, GAUGE, LAST, rate_field


def counter_rate(previous, current, seconds):
    """Return per-second increase between two counter readings; a counter that went down was reset."""
    if previous is None or current is None or seconds <= 0:
        return None
    increase = current - previous if current >= previous else current  # restarted from zero
    return increase / seconds


def raw_points(kind, samples, start):
    """Return one point per sample at or after start; an earlier sample only seeds the rates.

    samples are (ts, values) pairs, oldest first, values in the order of kind.metrics.
    """
    points, previous = [], None
    for ts, values in samples:
        if ts >= start:
            point = {"t": ts}
            for index, metric in enumerate(kind.metrics):
                if metric.how == COUNTER:
                    point[rate_field(metric)] = previous and counter_rate(
                        previous[1][index], values[index], ts - previous[0])
                else:
                    point[metric.field] = values[index]
            points.append(point)
        previous = ts, values
    return points


def summarize(kind, samples, step, previous=None):
    """Return {bucket start: summary} of samples, (ts, values) pairs oldest first, in buckets of step.

    previous, the sample just before them, seeds the first rates. A rate counts in the bucket
    of the later of its two samples.
    """
    buckets = {}
    metrics = _HOWS.get(kind.name) or _hows(kind)
    for ts, values in samples:
        bucket = ts - ts % step
        summary = buckets.get(bucket)
        if summary is None:
            summary = buckets[bucket] = [0] + [None] * len(metrics)
        summary[0] += 1
        for index, how in metrics:
            value = values[index]
            if how is COUNTER:
                value = previous and counter_rate(previous[1][index], value, ts - previous[0])
            if value is None:
                continue
            held = summary[index + 1]
            if how is LAST:
                summary[index + 1] = (ts, value)
            elif how is GAUGE:
                summary[index + 1] = (value, value, 1) if held is None else (
                    held[0] + value, max(held[1], value), held[2] + 1)
            else:
                summary[index + 1] = (value, 1) if held is None else (held[0] + value, held[1] + 1)
        previous = ts, values
    return buckets


_HOWS = {}  # {kind name: ((index, how) of each metric)}: summarize runs per object and rollup


def _hows(kind):
    # The module's own constants, so that summarize compares them by identity.
    hows = _HOWS[kind.name] = tuple((index, {COUNTER: COUNTER, GAUGE: GAUGE, LAST: LAST}[metric.how])
                                    for index, metric in enumerate(kind.metrics))
    return hows


def merge(kind, into, summary):
    """Add summary to the summary into, in place; summary must be the later one in time."""
    into[0] += summary[0]
    for index, metric in enumerate(kind.metrics, start=1):
        held, more = into[index], summary[index]
        if more is None:
            continue
        if held is None or metric.how == LAST:
            into[index] = more
        elif metric.how == GAUGE:
            into[index] = (held[0] + more[0], max(held[1], more[1]), held[2] + more[2])
        else:
            into[index] = (held[0] + more[0], held[1] + more[1])
    return into


def rebucket(kind, summaries, step):
    """Merge (bucket, summary) pairs, oldest first, into {start: summary} buckets of a coarser step."""
    buckets = {}
    for bucket, summary in summaries:
        start = bucket - bucket % step
        if start in buckets:
            merge(kind, buckets[start], summary)
        else:
            buckets[start] = list(summary)
    return buckets


def to_row(kind, summary):
    """Return a summary as a rollup row's values: samples, then per metric as the rollup tables keep them."""
    row = [summary[0]]
    for metric, held in zip(kind.metrics, summary[1:]):
        if metric.how == GAUGE:
            row += (None, None, 0) if held is None else (held[0] / held[2], held[1], held[2])
        elif metric.how == COUNTER:
            row += (None, 0) if held is None else (held[0] / held[1], held[1])
        else:
            row.append(None if held is None else held[1])
    return row


def from_row(kind, bucket, row):
    """Return the summary a rollup row keeps (the inverse of to_row); bucket orders its last values."""
    summary, position = [row[0]], 1
    for metric in kind.metrics:
        if metric.how == GAUGE:
            average, maximum, count = row[position:position + 3]
            summary.append((average * count, maximum, count) if count else None)
            position += 3
        elif metric.how == COUNTER:
            rate, count = row[position:position + 2]
            summary.append((rate * count, count) if count else None)
            position += 2
        else:
            summary.append(None if row[position] is None else (bucket, row[position]))
            position += 1
    return summary


def rollup_columns(kind):
    """Return the rollup table's columns that to_row fills, in its order."""
    columns = ["samples"]
    for metric in kind.metrics:
        if metric.how == GAUGE:
            columns += (f"{metric.column}_avg", f"{metric.column}_max", f"{metric.column}_n")
        elif metric.how == COUNTER:
            columns += (f"{metric.column}_rate", f"{metric.column}_n")
        else:
            columns.append(metric.column)
    return tuple(columns)


def row_points(kind, rows):
    """Return the API's points of rollup rows (bucket, *rollup_columns) taken as they are kept."""
    fields = []  # (API name, position in the row) of what a point shows
    position = 2  # after bucket and samples
    for metric in kind.metrics:
        if metric.how == GAUGE:
            fields += ((metric.field, position), (metric.field + "Max", position + 1))
            position += 3
        elif metric.how == COUNTER:
            fields.append((rate_field(metric), position))
            position += 2
        else:
            fields.append((metric.field, position))
            position += 1
    return [{"t": row[0], **{name: row[at] for name, at in fields}} for row in rows]


def bucket_points(kind, buckets):
    """Return the API's points of {start: summary} buckets, oldest first; empty buckets are left out."""
    points = []
    for start in sorted(buckets):
        point = {"t": start}
        for metric, held in zip(kind.metrics, buckets[start][1:]):
            if metric.how == GAUGE:
                point[metric.field] = held and held[0] / held[2]
                point[metric.field + "Max"] = held and held[1]
            elif metric.how == COUNTER:
                point[rate_field(metric)] = held and held[0] / held[1]
            else:
                point[metric.field] = held and held[1]
        points.append(point)
    return points
