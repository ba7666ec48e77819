"""Bucket arithmetic: averages, maxima, rates, resets, gaps, and summaries that merge exactly."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubewatch import buckets, packing
from kubewatch.kinds import CONTAINERS, NODES


def _sample(ts, cpu=None, memory=None, limit=None, rx=None, tx=None, restarts=None):
    return ts, (cpu, memory, limit, rx, tx, restarts)


def test_a_bucket_has_the_average_and_maximum_of_its_gauges_and_the_last_of_the_rest():
    samples = [_sample(60, cpu=10.0, memory=100.0, limit=512.0, restarts=0),
               _sample(75, cpu=30.0, memory=None, limit=1024.0, restarts=1),
               _sample(90, cpu=20.0, memory=300.0, limit=None, restarts=None)]
    [point] = buckets.bucket_points(CONTAINERS, buckets.summarize(CONTAINERS, samples, 60))
    assert point == {"t": 60, "cpuPercent": 20.0, "cpuPercentMax": 30.0, "memoryMB": 200.0, "memoryMBMax": 300.0,
                     "memoryLimitMB": 1024.0, "networkRxBytesPerSec": None, "networkTxBytesPerSec": None,
                     "restartCount": 1}


def test_a_rate_counts_in_the_bucket_of_its_later_sample_and_a_reset_counts_from_zero():
    samples = [_sample(50, rx=0), _sample(65, rx=300), _sample(80, rx=600), _sample(95, rx=150)]
    summaries = buckets.summarize(CONTAINERS, samples, 60)
    points = {p["t"]: p["networkRxBytesPerSec"] for p in buckets.bucket_points(CONTAINERS, summaries)}
    assert points == {0: None, 60: pytest.approx((20.0 + 20.0 + 10.0) / 3)}
    seeded = buckets.summarize(CONTAINERS, samples[1:], 60, previous=samples[0])
    assert buckets.bucket_points(CONTAINERS, seeded)[0]["networkRxBytesPerSec"] == pytest.approx(50 / 3)


def test_a_counter_rate_is_never_negative():
    assert buckets.counter_rate(1000, 200, 10) == 20.0  # went down: restarted from zero
    assert buckets.counter_rate(None, 200, 10) is None
    assert buckets.counter_rate(100, 200, 0) is None


def test_empty_buckets_are_left_out():
    samples = [_sample(0, cpu=1.0), _sample(3600 * 5, cpu=2.0)]
    points = buckets.bucket_points(CONTAINERS, buckets.summarize(CONTAINERS, samples, 3600))
    assert [p["t"] for p in points] == [0, 3600 * 5]


def test_a_rollup_row_keeps_what_its_summary_holds():
    samples = [_sample(0, cpu=1.5, memory=2.0, limit=3.0, rx=10, tx=20, restarts=0),
               _sample(15, cpu=2.5, memory=None, limit=3.0, rx=40, tx=20, restarts=2)]
    [(bucket, summary)] = buckets.summarize(CONTAINERS, samples, 60).items()
    row = buckets.to_row(CONTAINERS, summary)
    assert dict(zip(buckets.rollup_columns(CONTAINERS), row)) == {
        "samples": 2, "cpu_percent_avg": 2.0, "cpu_percent_max": 2.5, "cpu_percent_n": 2,
        "memory_mb_avg": 2.0, "memory_mb_max": 2.0, "memory_mb_n": 1, "memory_limit_mb": 3.0,
        "network_rx_bytes_rate": 2.0, "network_rx_bytes_n": 1, "network_tx_bytes_rate": 0.0, "network_tx_bytes_n": 1,
        "restart_count": 2}
    assert buckets.to_row(CONTAINERS, buckets.from_row(CONTAINERS, bucket, row)) == row
    assert buckets.row_points(CONTAINERS, [(bucket, *row)]) == buckets.bucket_points(CONTAINERS, {bucket: summary})


_value = st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False))
_counter = st.one_of(st.none(), st.integers(min_value=0, max_value=10 ** 12))


@st.composite
def _samples(draw):
    gaps = draw(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=60))
    ts, samples = draw(st.integers(min_value=0, max_value=10 ** 6)), []
    for gap in gaps:
        ts += gap
        samples.append((ts, (draw(_value), draw(_value), draw(_value), draw(_counter), draw(_counter),
                             draw(_counter))))
    return samples


def _same(left, right):
    assert left.keys() == right.keys()
    for bucket in left:
        assert buckets.to_row(CONTAINERS, left[bucket]) == pytest.approx(buckets.to_row(CONTAINERS, right[bucket]),
                                                                       nan_ok=True)


@settings(max_examples=200, deadline=None)
@given(_samples(), st.sampled_from([60, 300, 3600, 86400]))
def test_minutes_merged_into_larger_buckets_equal_summarizing_the_samples_at_once(samples, step):
    minutes = buckets.summarize(CONTAINERS, samples, 60)
    through_rows = [(bucket, buckets.from_row(CONTAINERS, bucket, buckets.to_row(CONTAINERS, summary)))
                    for bucket, summary in sorted(minutes.items())]
    _same(buckets.rebucket(CONTAINERS, through_rows, step), buckets.summarize(CONTAINERS, samples, step))


@settings(max_examples=200, deadline=None)
@given(_samples(), st.data())
def test_summaries_of_two_parts_merge_into_the_summary_of_the_whole(samples, data):
    cut = data.draw(st.integers(min_value=0, max_value=len(samples)))
    head = buckets.summarize(CONTAINERS, samples[:cut], 60)
    tail = buckets.summarize(CONTAINERS, samples[cut:], 60, previous=samples[cut - 1] if cut else None)
    for bucket, summary in tail.items():
        if bucket in head:
            buckets.merge(CONTAINERS, head[bucket], summary)
        else:
            head[bucket] = summary
    _same(head, buckets.summarize(CONTAINERS, samples, 60))


@settings(max_examples=200, deadline=None)
@given(_samples())
def test_packing_keeps_every_number_exactly(samples):
    rows = [values for _, values in samples]
    keys = list(range(1, len(rows) + 1))
    assert packing.unpack(CONTAINERS.metrics, packing.pack(CONTAINERS.metrics, keys, rows)) == dict(zip(keys, rows))


def test_node_gauges_include_pods_and_filesystem_with_their_maxima():
    samples = [(0, (10.0, 100.0, 5, 0, 0, 1000, 9000)), (15, (30.0, 300.0, 7, 150, 300, 3000, 9000))]
    [point] = buckets.bucket_points(NODES, buckets.summarize(NODES, samples, 60))
    assert point == {"t": 0, "cpuPercent": 20.0, "cpuPercentMax": 30.0, "memoryMB": 200.0, "memoryMBMax": 300.0,
                     "podCount": 6.0, "podCountMax": 7, "networkRxBytesPerSec": 10.0, "networkTxBytesPerSec": 20.0,
                     "fsUsedBytes": 2000.0, "fsUsedBytesMax": 3000, "fsCapacityBytes": 9000}


@settings(max_examples=100, deadline=None)
@given(_samples(), st.data())
def test_unpacking_one_key_gives_its_row_as_unpacking_all(samples, data):
    rows = [values for _, values in samples]
    keys = data.draw(st.lists(st.integers(min_value=1, max_value=2**32 - 1), min_size=len(rows), max_size=len(rows),
                              unique=True))
    blob = packing.pack(CONTAINERS.metrics, keys, rows)
    everything = packing.unpack(CONTAINERS.metrics, blob)
    for key in keys:
        assert packing.unpack_one(CONTAINERS.metrics, blob, key) == everything[key]
    assert packing.unpack_one(CONTAINERS.metrics, blob, 0) is None
