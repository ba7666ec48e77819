"""Series arithmetic: counter rates and step buckets."""

import pytest

from kubewatch.series import bucketed_points, counter_rate, raw_points


@pytest.mark.parametrize("previous, current, seconds, rate", [
    (1000, 2500, 15, 100.0),
    (1000, 1000, 15, 0.0),
    (5000, 300, 15, 20.0),  # went down: a reset, counted from zero
    (None, 300, 15, None),  # nothing to compare with
    (100, None, 15, None),  # not measured
    (100, 200, 0, None),
])
def test_counter_rate(previous, current, seconds, rate):
    assert counter_rate(previous, current, seconds) == rate


def sample(ts, cpu=1.0, memory=10.0, rx=0, tx=0, restarts=0):
    return (ts, cpu, memory, 512.0, rx, tx, restarts)


def test_raw_points_use_the_sample_before_the_range_only_for_rates():
    points = raw_points([sample(85, rx=0), sample(100, rx=1500), sample(115, rx=3000)], start=100)
    assert [p["t"] for p in points] == [100, 115]
    assert [p["networkRxBytesPerSec"] for p in points] == [100.0, 100.0]


def test_the_first_sample_ever_has_no_rate():
    [point] = raw_points([sample(100, rx=1500)], start=0)
    assert point["networkRxBytesPerSec"] is None and point["cpuPercent"] == 1.0


def test_buckets_align_to_the_epoch_and_keep_averages_maxima_and_last_restart_count():
    points = raw_points([sample(50, cpu=10, memory=100, restarts=1), sample(65, cpu=30, memory=300, restarts=1),
                         sample(125, cpu=5, memory=50, restarts=2), sample(130, cpu=7, memory=70, restarts=3)], start=0)
    buckets = bucketed_points(points, 60)
    assert [b["t"] for b in buckets] == [0, 60, 120]
    assert buckets[0]["cpuPercent"] == 10 and buckets[1]["cpuPercent"] == 30
    assert (buckets[2]["cpuPercent"], buckets[2]["cpuPercentMax"]) == (6, 7)
    assert (buckets[2]["memoryMB"], buckets[2]["memoryMBMax"]) == (60, 70)
    assert buckets[2]["restartCount"] == 3


def test_empty_buckets_are_left_out_and_missing_values_do_not_count():
    points = raw_points([sample(0, cpu=None), sample(10, cpu=4), sample(7200, cpu=None)], start=0)
    buckets = bucketed_points(points, 3600)
    assert [b["t"] for b in buckets] == [0, 7200]
    assert buckets[0]["cpuPercent"] == 4 and buckets[1]["cpuPercent"] is None


def test_a_spike_survives_in_the_maximum():
    points = raw_points([sample(t, cpu=1) for t in range(0, 60, 5)] + [sample(60 + 1, cpu=400)], start=0)
    assert bucketed_points(points, 3600)[0]["cpuPercentMax"] == 400
