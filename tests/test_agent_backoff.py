"""Backoff: exponential, jittered, capped, and reset by a success."""

from kubewatch_agent.backoff import Backoff


def test_delays_double_up_to_the_cap_between_half_and_all_of_each_step():
    lowest = Backoff(base=1, cap=60, rng=lambda: 0.0)
    highest = Backoff(base=1, cap=60, rng=lambda: 0.999999)
    steps = [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert [lowest.next_delay() for _ in steps] == [step / 2 for step in steps]
    assert [round(highest.next_delay(), 3) for _ in steps] == steps


def test_jitter_spreads_agents_that_failed_together():
    delays = {round(Backoff(base=8, cap=60).next_delay(), 6) for _ in range(20)}
    assert len(delays) > 1 and all(4 <= delay <= 8 for delay in delays)


def test_a_success_starts_over_from_the_base():
    backoff = Backoff(base=1, cap=60, rng=lambda: 0.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_a_very_long_outage_stays_at_the_cap():
    backoff = Backoff(base=1, cap=60, rng=lambda: 0.0)
    for _ in range(10_000):
        delay = backoff.next_delay()
    assert delay == 30
