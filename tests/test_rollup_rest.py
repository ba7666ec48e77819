"""The rollup job's rests follow the CPU its thread used, not the time that passed while it waited."""

import time

from kubewatch import rollup_job


def test_a_rest_is_twice_the_cpu_the_job_used_and_waiting_counts_for_nothing(monkeypatch):
    real_sleep, asked = time.sleep, []
    monkeypatch.setattr(rollup_job.time, "sleep", asked.append)
    rest = rollup_job._Rest()

    real_sleep(0.3)  # waiting, as for the GIL or the writer lock: no CPU of the thread's own
    rest()
    assert asked[-1] < 0.05

    busy_until = time.thread_time() + 0.1
    while time.thread_time() < busy_until:  # working
        pass
    rest()
    assert 2 * 0.1 <= asked[-1] < 2 * 0.1 + 0.1
    assert rollup_job.REST_PER_WORK == 2
