"""The docker collector against a real Docker Engine: its figures beside `docker stats --no-stream`, and
the states and restart counts of containers in every state a host shows."""

import random
import re
import threading
import time

import pytest

from docker_engine import docker, engine  # noqa: F401 (the fixture)
from kubewatch_agent.collectors.docker import DockerCollector
from polling import wait_until

pytestmark = pytest.mark.docker

# As close as two readings of a busy container over two overlapping seconds can agree.
CPU_POINTS = 2.0
MEMORY_MIB = 0.15
PINGS = 10
BACKGROUND_BYTES = 2 * 90


@pytest.fixture(scope="module")
def scene(engine):  # noqa: F811
    """Start one container per case, wait for each to reach its state; return {case: full id}."""
    subnet = f"10.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24"
    network = engine.network(subnet)
    ids = {
        # Held to half a core by its quota, so its share does not swing with the machine's load.
        "busy": engine.run("busy", "--cpus", "0.5", command=("sh", "-c", "while :; do :; done")),
        "idle": engine.run("idle"),
        "limited": engine.run("limited", "-m", "64m", "--tmpfs", "/fill",
                              command=("sh", "-c", "dd if=/dev/zero of=/fill/20m bs=1M count=20 2>/dev/null; "
                                                   "sleep 3600")),
        "hostnet": engine.run("hostnet", network="host"),
        "paused": engine.run("paused"),
        "restarting": engine.run("restarting", "--restart", "always", command=("sh", "-c", "sleep 1; exit 1")),
        "restarted": engine.run("restarted", "--restart", "on-failure:2", command=("sh", "-c", "exit 1")),
        "exited": engine.run("exited", command=("sh", "-c", "exit 3")),
        "oom": engine.run("oom", "-m", "8m", "--memory-swap", "8m",
                          command=("sh", "-c", "x=0123456789abcdef; while :; do x=$x$x; done")),
        "peer": engine.run("peer", network=network),
    }
    peer_ip = engine.inspect(ids["peer"])["NetworkSettings"]["Networks"][network]["IPAddress"]
    ids["pinger"] = engine.run("pinger", network=network,
                               command=("sh", "-c", f"ping -c {PINGS} -i 0.1 {peer_ip}; sleep 3600"))
    docker("pause", ids["paused"])
    state = lambda case: engine.inspect(ids[case])["State"]  # noqa: E731
    wait_until(lambda: state("oom")["Status"] == "exited", "the OOM kill", 60, every=0.2)
    wait_until(lambda: state("restarted")["Status"] == "exited" and engine.inspect(ids["restarted"])[
        "RestartCount"] == 2, "the second restart of on-failure:2", 60, every=0.2)
    wait_until(lambda: state("exited")["Status"] == "exited", "the exit", 60, every=0.2)
    wait_until(lambda: engine.inspect(ids["restarting"])["RestartCount"] >= 1, "a restart", 60, every=0.2)
    # Read from its log, not by an exec: what an exec leaves in the container's memory is freed a while later.
    wait_until(lambda: docker("logs", ids["pinger"], check=False).count("bytes from") == PINGS, "the pings", 60,
               every=0.2)
    time.sleep(1)  # a second of history for the busy container's reading
    return ids


MEASURED = ("busy", "idle", "limited", "hostnet", "paused", "peer", "pinger")


@pytest.fixture(scope="module")
def stats_before(engine, scene):  # noqa: F811
    """Return `docker stats --no-stream` by short id, read just before the side-by-side reading."""
    return engine.stats(*(scene[case] for case in MEASURED))


@pytest.fixture(scope="module")
def side_by_side(engine, scene, stats_before):  # noqa: F811
    """Return (the collector's containers by short id, docker stats rows by short id), read at the same time."""
    measured = [scene[case] for case in MEASURED]
    collected, before = {}, {case: engine.inspect(scene[case])["RestartCount"] for case in ("restarting",)}

    def collect():
        collector = DockerCollector()
        try:
            collected.update({found["id"]: found for found in collector.collect()["containers"]})
        finally:
            collector.close()

    thread = threading.Thread(target=collect)
    thread.start()
    stats = engine.stats(*measured)
    thread.join(timeout=60)
    after = {case: engine.inspect(scene[case])["RestartCount"] for case in before}
    return collected, stats, before, after


@pytest.fixture(scope="module")
def stats_after(engine, scene, side_by_side):  # noqa: F811
    """Return `docker stats --no-stream` by short id, read again once the side-by-side reading is over."""
    return engine.stats(*(scene[case] for case in MEASURED))


def short(full_id):
    return full_id[:12]


UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


def size(text):
    """Return the bytes of a size as `docker stats` prints it (12.5MiB, 1.38kB, 0B)."""
    number, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", text.strip()).groups()
    return float(number) * UNITS[unit]


def docker_size(count):
    """Format a byte count as `docker stats` prints network I/O: three significant digits, decimal units."""
    value, units = float(count), ["B", "kB", "MB", "GB", "TB"]
    while value >= 1000 and len(units) > 1:
        value, units = value / 1000, units[1:]
    return f"{value:.3g}{units[0]}"


def rounding(shown):
    """Return the most a size printed with three significant digits can be off by, in bytes."""
    unit = next(factor for factor in (1000 ** 3, 1000 ** 2, 1000, 1) if shown >= factor or factor == 1)
    return 0 if unit == 1 else unit * 10 ** (len(str(int(shown // unit))) - 3) / 2


def docker_binary_size(count):
    """Format a byte count as `docker stats` prints memory: four significant digits, binary units."""
    value, units = float(count), ["B", "KiB", "MiB", "GiB", "TiB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.4g}{units[0]}"


@pytest.mark.parametrize("case", MEASURED)
def test_cpu_and_memory_match_docker_stats(scene, stats_before, side_by_side, stats_after, case):
    collected, stats, *_ = side_by_side
    ours, theirs = collected[short(scene[case])], stats[short(scene[case])]
    used, limit = theirs["MemUsage"].split(" / ")
    assert abs(ours["cpuPercent"] - float(theirs["CPUPerc"].rstrip("%"))) <= CPU_POINTS, (ours, theirs)
    # The two read memory a moment apart, and a container's use can move by a few hundred KiB in between
    # (the kernel frees pages lazily): ours must lie within docker's readings just before, during and after.
    readings = [size(rows[short(scene[case])]["MemUsage"].split(" / ")[0]) / 1024 ** 2
                for rows in (stats_before, stats, stats_after)]
    assert min(readings) - MEMORY_MIB <= ours["memoryMB"] <= max(readings) + MEMORY_MIB, (ours, theirs, readings)
    assert docker_binary_size(ours["memoryLimitMB"] * 1024 ** 2) == limit, (ours, theirs)


def test_the_busy_container_uses_its_half_core_and_the_idle_one_nothing(scene, side_by_side):
    collected, *_ = side_by_side
    # Its quota is 50 ms of each 100 ms period. A one-second reading that does not start on a period's
    # edge can hold eleven periods' quota: 55 at most. A loaded machine may give it less, never nothing.
    assert 10 <= collected[short(scene["busy"])]["cpuPercent"] <= 55
    assert collected[short(scene["idle"])]["cpuPercent"] < 1


def test_the_memory_limit_and_what_fills_it_are_reported(scene, side_by_side):
    limited = side_by_side[0][short(scene["limited"])]
    assert limited["memoryLimitMB"] == 64.0
    assert 20 <= limited["memoryMB"] <= 24  # the 20 MiB file in its tmpfs, and busybox


@pytest.mark.parametrize("case", ["peer", "pinger"])
def test_network_counters_equal_docker_stats_within_its_rounding(scene, side_by_side, case):
    collected, stats, *_ = side_by_side
    ours, theirs = collected[short(scene[case])], stats[short(scene[case])]
    assert ours["networkRxBytes"] > 84 * PINGS and ours["networkTxBytes"] > 84 * PINGS  # the pings were counted
    received, sent = (size(text) for text in theirs["NetIO"].split(" / "))
    for counted, shown in ((ours["networkRxBytes"], received), (ours["networkTxBytes"], sent)):
        # docker stats keeps three digits; a bridge also carries a little of its own (ARP, IPv6
        # neighbour discovery) between the two readings: at most two small frames.
        assert abs(counted - shown) <= rounding(shown) + BACKGROUND_BYTES, (ours, theirs)


def test_a_host_networked_container_has_no_network_figures(scene, side_by_side):
    collected, stats, *_ = side_by_side
    hostnet = collected[short(scene["hostnet"])]
    assert "networkRxBytes" not in hostnet and "networkTxBytes" not in hostnet
    assert stats[short(scene["hostnet"])]["NetIO"] == "0B / 0B"


def test_states_and_restart_counts_are_the_engine_s(engine, scene, side_by_side):  # noqa: F811
    collected, _, before, after = side_by_side
    found = {case: collected[short(full)] for case, full in scene.items()}
    assert {case: found[case]["status"] for case in ("busy", "idle", "paused", "restarted", "exited", "oom")} == {
        "busy": "running", "idle": "running", "paused": "paused", "restarted": "exited", "exited": "exited",
        "oom": "exited"}
    assert found["restarting"]["status"] in ("restarting", "running")
    assert before["restarting"] <= found["restarting"]["restartCount"] <= after["restarting"]
    assert found["restarting"]["restartCount"] >= 1
    assert (found["restarted"]["restartCount"], found["exited"]["restartCount"], found["busy"]["restartCount"]) \
        == (2, 0, 0)
    assert engine.inspect(scene["oom"])["State"]["OOMKilled"] is True


@pytest.mark.parametrize(("case", "exit_code", "oom_killed"),
                         [("restarted", 1, False), ("exited", 3, False), ("oom", 137, True)])
def test_a_stopped_container_is_reported_with_its_status_and_no_figures(scene, side_by_side, case, exit_code,
                                                                      oom_killed):
    found = side_by_side[0][short(scene[case])]
    assert set(found) == {"id", "name", "image", "status", "restartCount", "exitCode", "oomKilled"}
    assert (found["exitCode"], found["oomKilled"]) == (exit_code, oom_killed)
    assert found["name"].endswith(f"-{case}") and found["image"].startswith("kubewatch-test-busybox")
