"""Bucket arithmetic of kubewatch/buckets.py: averages, maxima, rates, resets, gaps, last values, exact merges."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubewatch import buckets
from kubewatch.kinds import CONTAINERS, NODES, PODS

MINUTE, HOUR = 60, 3600


def sample(ts, cpu=None, memory=None, limit=None, rx=None, tx=None, restarts=None):
    """A container (or pod) sample: values in the order of CONTAINERS.metrics."""
    return ts, (cpu, memory, limit, rx, tx, restarts)


def points(samples, step, kind=CONTAINERS, previous=None):
    return buckets.bucket_points(kind, buckets.summarize(kind, samples, step, previous))


def rates(samples, step, previous=None):
    return {p["t"]: p["networkRxBytesPerSec"] for p in points(samples, step, previous=previous)}


# Averages and maxima

def test_a_bucket_holds_the_average_and_the_maximum_of_each_gauge():
    samples = [sample(120, cpu=10.0, memory=100.0), sample(135, cpu=40.0, memory=300.0),
               sample(150, cpu=25.0, memory=200.0)]
    [point] = points(samples, MINUTE)
    assert point["t"] == 120
    assert (point["cpuPercent"], point["cpuPercentMax"]) == (pytest.approx(25.0), 40.0)
    assert (point["memoryMB"], point["memoryMBMax"]) == (pytest.approx(200.0), 300.0)


def test_each_bucket_averages_only_its_own_samples():
    samples = [sample(0, cpu=10.0), sample(30, cpu=20.0), sample(60, cpu=100.0), sample(119, cpu=50.0)]
    assert [(p["t"], p["cpuPercent"], p["cpuPercentMax"]) for p in points(samples, MINUTE)] == [
        (0, 15.0, 20.0), (60, 75.0, 100.0)]


def test_a_bucket_starts_at_a_whole_multiple_of_its_step_since_the_epoch():
    samples = [sample(3599, cpu=1.0), sample(3600, cpu=2.0), sample(7199, cpu=3.0), sample(7200, cpu=4.0)]
    assert [p["t"] for p in points(samples, HOUR)] == [0, 3600, 7200]
    assert [p["t"] for p in points(samples, 300)] == [3300, 3600, 6900, 7200]


def test_a_spike_survives_as_the_maximum_however_large_the_bucket():
    samples = [sample(ts, cpu=1.0) for ts in range(0, 86400, 15)]
    samples[1000] = sample(samples[1000][0], cpu=99.0)
    [point] = points(samples, 86400)
    assert point["cpuPercentMax"] == 99.0
    assert point["cpuPercent"] == pytest.approx((len(samples) - 1 + 99.0) / len(samples))


def test_node_gauges_have_averages_and_maxima_and_the_filesystem_capacity_is_its_last_value():
    samples = [(0, (10.0, 1000.0, 10, 0, 0, 100, 5000)), (15, (30.0, 3000.0, 14, 150, 30, 300, 6000))]
    [point] = points(samples, MINUTE, kind=NODES)
    assert point == {"t": 0, "cpuPercent": 20.0, "cpuPercentMax": 30.0, "memoryMB": 2000.0,
                     "memoryMBMax": 3000.0, "podCount": 12.0, "podCountMax": 14,
                     "networkRxBytesPerSec": 10.0, "networkTxBytesPerSec": 2.0,
                     "fsUsedBytes": 200.0, "fsUsedBytesMax": 300, "fsCapacityBytes": 6000}


# Counters

def test_a_counter_becomes_its_increase_per_second():
    assert buckets.counter_rate(1000, 2500, 15) == 100.0
    assert buckets.counter_rate(7, 7, 15) == 0.0


def test_a_counter_that_went_down_counts_from_zero_never_a_negative_rate():
    assert buckets.counter_rate(10_000, 300, 15) == 20.0  # restarted: 300 bytes since
    assert buckets.counter_rate(10_000, 0, 15) == 0.0


def test_a_rate_needs_two_readings_and_time_between_them():
    assert buckets.counter_rate(None, 300, 15) is None
    assert buckets.counter_rate(300, None, 15) is None
    assert buckets.counter_rate(100, 300, 0) is None


def test_a_counter_reset_inside_a_bucket_averages_as_a_restart():
    samples = [sample(0, rx=0), sample(15, rx=1500), sample(30, rx=3000), sample(45, rx=150)]
    # Rates 100, 100, then 150 / 15 = 10 after the reset; the first sample has nothing before it.
    assert rates(samples, MINUTE) == {0: pytest.approx(70.0)}
    raw = buckets.raw_points(CONTAINERS, samples, 0)
    assert [p["networkRxBytesPerSec"] for p in raw] == [None, 100.0, 100.0, 10.0]


def test_a_rate_counts_in_the_bucket_of_its_later_sample():
    samples = [sample(50, rx=0), sample(65, rx=1500), sample(125, rx=1500 + 6000)]
    summaries = buckets.summarize(CONTAINERS, samples, MINUTE)
    assert summaries[0][4] is None  # bucket 0 only holds the reading that starts the first rate
    assert summaries[60][4] == (100.0, 1)
    assert summaries[120][4] == (100.0, 1)
    assert rates(samples, MINUTE) == {0: None, 60: 100.0, 120: 100.0}


def test_a_rate_counts_in_the_bucket_of_its_later_sample_and_a_reset_counts_from_zero():
    samples = [sample(50, rx=0), sample(65, rx=300), sample(80, rx=600), sample(95, rx=150)]
    assert rates(samples, MINUTE) == {0: None, 60: pytest.approx((20.0 + 20.0 + 10.0) / 3)}
    assert rates(samples[1:], MINUTE, previous=samples[0])[60] == pytest.approx(50 / 3)


def test_the_sample_before_the_first_seeds_its_rate():
    previous = sample(45, rx=0)
    assert rates([sample(60, rx=3000)], MINUTE) == {60: None}
    assert rates([sample(60, rx=3000)], MINUTE, previous=previous) == {60: 200.0}
    assert buckets.raw_points(CONTAINERS, [previous, sample(60, rx=3000)], 60) == [
        {"t": 60, "cpuPercent": None, "memoryMB": None, "memoryLimitMB": None, "networkRxBytesPerSec": 200.0,
         "networkTxBytesPerSec": None, "restartCount": None}]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10 ** 15), min_size=2, max_size=40),
       st.sampled_from([15, 60, 3600]))
def test_no_counter_sequence_ever_gives_a_negative_rate(readings, step):
    samples = [sample(15 * index, rx=value) for index, value in enumerate(readings)]
    assert all(p["networkRxBytesPerSec"] >= 0 for p in buckets.raw_points(CONTAINERS, samples, 0)[1:])
    assert all(p["networkRxBytesPerSec"] is None or p["networkRxBytesPerSec"] >= 0 for p in points(samples, step))


# Missing values

def test_a_value_not_measured_counts_in_neither_the_average_nor_the_maximum():
    samples = [sample(0, cpu=10.0, memory=None), sample(15, cpu=None, memory=50.0), sample(30, cpu=30.0)]
    [point] = points(samples, MINUTE)
    assert (point["cpuPercent"], point["cpuPercentMax"]) == (20.0, 30.0)
    assert (point["memoryMB"], point["memoryMBMax"]) == (50.0, 50.0)
    [(_, summary)] = buckets.summarize(CONTAINERS, samples, MINUTE).items()
    assert summary[0] == 3  # every sample counts as a sample
    assert summary[1] == (40.0, 30.0, 2) and summary[2] == (50.0, 50.0, 1)


def test_a_counter_not_measured_gives_no_rate_on_either_side():
    samples = [sample(0, rx=0), sample(15, rx=None), sample(30, rx=3000), sample(45, rx=4500)]
    assert [p["networkRxBytesPerSec"] for p in buckets.raw_points(CONTAINERS, samples, 0)] == [None, None, None, 100.0]
    [(_, summary)] = buckets.summarize(CONTAINERS, samples, MINUTE).items()
    assert summary[4] == (100.0, 1)


def test_a_bucket_where_nothing_was_measured_is_a_point_of_nulls():
    [point] = points([sample(60)], MINUTE)
    assert point == {"t": 60, "cpuPercent": None, "cpuPercentMax": None, "memoryMB": None, "memoryMBMax": None,
                     "memoryLimitMB": None, "networkRxBytesPerSec": None, "networkTxBytesPerSec": None,
                     "restartCount": None}


def test_buckets_without_samples_are_left_out():
    samples = [sample(0, cpu=1.0), sample(5 * HOUR + 10, cpu=2.0), sample(9 * HOUR, cpu=3.0)]
    assert [p["t"] for p in points(samples, HOUR)] == [0, 5 * HOUR, 9 * HOUR]
    assert points([], HOUR) == []


# Last values

def test_a_bucket_has_the_average_and_maximum_of_its_gauges_and_the_last_of_the_rest():
    samples = [sample(60, cpu=10.0, memory=100.0, limit=512.0, restarts=0),
               sample(75, cpu=30.0, memory=None, limit=1024.0, restarts=1),
               sample(90, cpu=20.0, memory=300.0, limit=None, restarts=None)]
    [point] = points(samples, MINUTE)
    assert point == {"t": 60, "cpuPercent": 20.0, "cpuPercentMax": 30.0, "memoryMB": 200.0, "memoryMBMax": 300.0,
                     "memoryLimitMB": 1024.0, "networkRxBytesPerSec": None, "networkTxBytesPerSec": None,
                     "restartCount": 1}


def test_a_setting_keeps_its_last_value_in_the_bucket():
    samples = [sample(0, limit=256.0, restarts=0), sample(15, limit=512.0, restarts=3), sample(30, limit=1024.0)]
    [point] = points(samples, MINUTE)
    assert (point["memoryLimitMB"], point["restartCount"]) == (1024.0, 3)  # a null later does not erase it


def test_a_last_value_of_zero_is_kept_not_taken_for_missing():
    [point] = points([sample(0, restarts=4), sample(15, restarts=0)], MINUTE)
    assert point["restartCount"] == 0


def test_merging_keeps_the_later_summarys_last_value_unless_it_has_none():
    early = buckets.summarize(CONTAINERS, [sample(0, limit=256.0, restarts=1)], MINUTE)[0]
    late = buckets.summarize(CONTAINERS, [sample(60, limit=512.0)], MINUTE)[60]
    merged = buckets.merge(CONTAINERS, list(early), late)
    assert merged[3][1] == 512.0 and merged[6][1] == 1


# Merging, rebucketing and rollup rows, against summarizing every sample at once

_gauge = st.one_of(st.none(), st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False))
_counter = st.one_of(st.none(), st.integers(min_value=0, max_value=2 ** 53))


@st.composite
def sample_lists(draw, max_gap=400):
    """Samples oldest first at distinct times, with nulls, counter resets and gaps of empty buckets."""
    ts = draw(st.integers(min_value=0, max_value=10 ** 9))
    samples = []
    for gap in draw(st.lists(st.integers(min_value=1, max_value=max_gap), min_size=1, max_size=50)):
        ts += gap
        samples.append(sample(ts, draw(_gauge), draw(_gauge), draw(_gauge), draw(_counter), draw(_counter),
                              draw(_counter)))
    return samples


def near(values, rel=1e-9):
    """Return values to compare with ==: numbers within rel of them, None only as None."""
    if isinstance(values, dict):
        return {name: near(value, rel) for name, value in values.items()}
    if isinstance(values, (list, tuple)):
        return [near(value, rel) for value in values]
    return values if values is None else pytest.approx(values, rel=rel)


def assert_same_buckets(got, expected, kind=CONTAINERS):
    assert sorted(got) == sorted(expected)
    for bucket in expected:
        assert buckets.to_row(kind, got[bucket]) == near(buckets.to_row(kind, expected[bucket]))


@settings(max_examples=100, deadline=None)
@given(sample_lists(), st.data(), st.sampled_from([15, 60, 300, 3600]))
def test_summaries_of_consecutive_parts_merge_into_the_summary_of_all_samples(samples, data, step):
    cuts = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=len(samples)), max_size=4)))
    merged, previous = {}, None
    for start, end in zip([0, *cuts], [*cuts, len(samples)]):
        part = samples[start:end]
        for bucket, summary in sorted(buckets.summarize(CONTAINERS, part, step, previous).items()):
            if bucket in merged:
                buckets.merge(CONTAINERS, merged[bucket], summary)
            else:
                merged[bucket] = summary
        if part:
            previous = part[-1]
    assert_same_buckets(merged, buckets.summarize(CONTAINERS, samples, step))


@settings(max_examples=200, deadline=None)
@given(sample_lists(), st.sampled_from([60, 300, 3600, 86400]))
def test_minutes_merged_into_larger_buckets_equal_summarizing_the_samples_at_once(samples, step):
    minutes = buckets.summarize(CONTAINERS, samples, 60)
    through_rows = [(bucket, buckets.from_row(CONTAINERS, bucket, buckets.to_row(CONTAINERS, summary)))
                    for bucket, summary in sorted(minutes.items())]
    assert_same_buckets(buckets.rebucket(CONTAINERS, through_rows, step), buckets.summarize(CONTAINERS, samples, step))


@settings(max_examples=100, deadline=None)
@given(sample_lists())
def test_minute_summaries_rebucketed_into_hours_equal_summarizing_the_samples_into_hours(samples):
    minutes = sorted(buckets.summarize(CONTAINERS, samples, MINUTE).items())
    assert_same_buckets(buckets.rebucket(CONTAINERS, minutes, HOUR), buckets.summarize(CONTAINERS, samples, HOUR))


@settings(max_examples=100, deadline=None)
@given(sample_lists(max_gap=90), st.sampled_from([300, HOUR, 86400]))
def test_minutes_kept_as_rollup_rows_rebucket_into_what_the_samples_give(samples, step):
    kept = [(bucket, buckets.from_row(CONTAINERS, bucket, buckets.to_row(CONTAINERS, summary)))
            for bucket, summary in sorted(buckets.summarize(CONTAINERS, samples, MINUTE).items())]
    rebucketed = buckets.rebucket(CONTAINERS, kept, step)
    assert_same_buckets(rebucketed, buckets.summarize(CONTAINERS, samples, step))
    expected = points(samples, step)
    assert buckets.bucket_points(CONTAINERS, rebucketed) == near(expected)


@settings(max_examples=100, deadline=None)
@given(sample_lists(), st.sampled_from([MINUTE, HOUR]))
def test_a_summary_survives_the_round_trip_through_a_rollup_row(samples, step):
    for bucket, summary in buckets.summarize(CONTAINERS, samples, step).items():
        row = buckets.to_row(CONTAINERS, summary)
        back = buckets.from_row(CONTAINERS, bucket, row)
        assert buckets.to_row(CONTAINERS, back) == near(row, rel=1e-12)
        assert buckets.row_points(CONTAINERS, [(bucket, *row)]) == near(
            buckets.bucket_points(CONTAINERS, {bucket: summary}), rel=1e-12)


def test_a_rollup_row_holds_average_maximum_and_count_per_gauge_rate_and_count_per_counter():
    samples = [sample(0, cpu=1.0, memory=None, limit=256.0, rx=0, tx=100, restarts=0),
               sample(15, cpu=3.0, memory=64.0, limit=512.0, rx=1500, tx=None, restarts=2),
               sample(30, cpu=None, memory=32.0, limit=None, rx=150, tx=400, restarts=None)]
    [(bucket, summary)] = buckets.summarize(CONTAINERS, samples, MINUTE).items()
    row = dict(zip(buckets.rollup_columns(CONTAINERS), buckets.to_row(CONTAINERS, summary)))
    assert row == {"samples": 3, "cpu_percent_avg": 2.0, "cpu_percent_max": 3.0, "cpu_percent_n": 2,
                   "memory_mb_avg": 48.0, "memory_mb_max": 64.0, "memory_mb_n": 2, "memory_limit_mb": 512.0,
                   "network_rx_bytes_rate": 55.0, "network_rx_bytes_n": 2,  # 100 then 10 after the reset
                   "network_tx_bytes_rate": None, "network_tx_bytes_n": 0, "restart_count": 2}


def test_a_rollup_row_keeps_what_its_summary_holds():
    samples = [sample(0, cpu=1.5, memory=2.0, limit=3.0, rx=10, tx=20, restarts=0),
               sample(15, cpu=2.5, memory=None, limit=3.0, rx=40, tx=20, restarts=2)]
    [(bucket, summary)] = buckets.summarize(CONTAINERS, samples, 60).items()
    row = buckets.to_row(CONTAINERS, summary)
    assert dict(zip(buckets.rollup_columns(CONTAINERS), row)) == {
        "samples": 2, "cpu_percent_avg": 2.0, "cpu_percent_max": 2.5, "cpu_percent_n": 2,
        "memory_mb_avg": 2.0, "memory_mb_max": 2.0, "memory_mb_n": 1, "memory_limit_mb": 3.0,
        "network_rx_bytes_rate": 2.0, "network_rx_bytes_n": 1, "network_tx_bytes_rate": 0.0, "network_tx_bytes_n": 1,
        "restart_count": 2}
    assert buckets.to_row(CONTAINERS, buckets.from_row(CONTAINERS, bucket, row)) == row
    assert buckets.row_points(CONTAINERS, [(bucket, *row)]) == buckets.bucket_points(CONTAINERS, {bucket: summary})


def test_an_empty_summary_row_reads_back_as_nothing_measured():
    [(bucket, summary)] = buckets.summarize(PODS, [sample(60)], MINUTE).items()
    row = buckets.to_row(PODS, summary)
    assert row == [1, None, None, 0, None, None, 0, None, None, 0, None, 0, None]
    assert buckets.from_row(PODS, bucket, row) == [1, None, None, None, None, None, None]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
                          st.one_of(st.none(), st.integers(min_value=0, max_value=10 ** 12))),
                min_size=1, max_size=30))
def test_node_summaries_rebucket_like_their_samples(values):
    samples = [(20 * index, (cpu, cpu, pods, pods, pods, pods, pods)) for index, (cpu, pods) in enumerate(values)]
    minutes = sorted(buckets.summarize(NODES, samples, MINUTE).items())
    kept = [(bucket, buckets.from_row(NODES, bucket, buckets.to_row(NODES, summary))) for bucket, summary in minutes]
    assert_same_buckets(buckets.rebucket(NODES, kept, HOUR), buckets.summarize(NODES, samples, HOUR), kind=NODES)
