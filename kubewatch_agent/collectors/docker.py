"""The docker collector: every container of a Docker Engine, with the figures `docker stats` prints."""

import os
from concurrent.futures import ThreadPoolExecutor

import docker
import requests
from docker.errors import APIError, DockerException, NotFound

from kubewatch_agent.collectors import CollectorUnavailable, mib
from kubewatch_agent.outages import one_line

# A stats call waits for a second CPU reading, about a second: fetched together, 50 containers
# take a couple of seconds instead of nearly a minute.
STATS_WORKERS = 32
TIMEOUT_SECONDS = 10
DEFAULT_HOST = "unix:///var/run/docker.sock"
# Containers in other states have no figures worth reporting: they report their status alone.
MEASURED_STATES = frozenset({"running", "paused"})


class DockerCollector:
    """Read the Docker Engine named by DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)."""

    platform = "docker"

    def __init__(self, environ=None):
        self.environ = os.environ if environ is None else environ
        self._api = None

    def collect(self):
        """Return {"containers": [...]}, running or not; raise CollectorUnavailable when the Engine is not there."""
        api = self._connect()
        try:
            listed = api.containers(all=True)
            with ThreadPoolExecutor(max_workers=min(STATS_WORKERS, len(listed) or 1)) as pool:
                found = list(pool.map(lambda summary: describe(api, summary), listed))
        except (DockerException, requests.RequestException) as error:
            self.close()
            raise CollectorUnavailable(f"cannot read containers from the Docker Engine: {one_line(error)}") from None
        return {"containers": [container for container in found if container is not None]}

    def _connect(self):
        if self._api is None:
            try:
                self._api = docker.APIClient(version="auto", timeout=TIMEOUT_SECONDS, max_pool_size=STATS_WORKERS,
                                             **docker.utils.kwargs_from_env(environment=self.environ))
            except DockerException as error:
                where = self.environ.get("DOCKER_HOST") or DEFAULT_HOST
                raise CollectorUnavailable(f"cannot reach the Docker Engine at {where}: {one_line(error)}") from None
        return self._api

    def close(self):
        """Drop the connection to the Engine; the next collect connects again."""
        # The Engine may come back as another version: negotiate again on the next cycle.
        if self._api is not None:
            self._api.close()
            self._api = None


def describe(api, summary):
    """Return the container object of one listed container, or None when it was removed since."""
    container_id = summary["Id"]
    stats = None
    if summary.get("State") in MEASURED_STATES:
        try:
            stats = api.stats(container_id, stream=False)
        except APIError:  # stopped (409) or removed (404) since it was listed: no figures this time
            stats = None
    try:
        inspected = api.inspect_container(container_id)
    except NotFound:
        return None
    state = inspected.get("State") or {}
    status = state.get("Status") or summary.get("State")
    name = (summary.get("Names") or [inspected.get("Name") or container_id[:12]])[0].lstrip("/")
    image = summary.get("Image") or (inspected.get("Config") or {}).get("Image")
    # Cut to the payload's lengths: one odd name must not get the whole push refused.
    container = {"id": container_id[:12], "name": name[:255], "image": image[:512] if image else None,
                 "status": status, "restartCount": inspected.get("RestartCount", 0)}
    container.update(exit_state(state, status))
    if stats and status in MEASURED_STATES:
        container.update(figures(stats))
    return {key: value for key, value in container.items() if value is not None}


def exit_state(state, status):
    """Return health (when the container has a health check), exitCode (when not running) and oomKilled."""
    found = {"oomKilled": state.get("OOMKilled")}
    health = (state.get("Health") or {}).get("Status")
    if health in ("healthy", "unhealthy", "starting"):
        found["health"] = health
    if status not in ("running", "paused", "restarting") and isinstance(state.get("ExitCode"), int):
        found["exitCode"] = state["ExitCode"]
    return found


def figures(stats):
    """Return cpuPercent, memory and network counters from one stats answer, as `docker stats` computes them."""
    found = {"cpuPercent": cpu_percent(stats)}  # None is left out by describe(): not measured
    memory = stats.get("memory_stats") or {}
    if "usage" in memory:
        found["memoryMB"] = mib(memory_used(memory))
    if "limit" in memory:
        found["memoryLimitMB"] = mib(memory["limit"])
    networks = stats.get("networks")
    if networks is not None:  # absent with host networking: not measured, so not sent
        found["networkRxBytes"] = sum(network.get("rx_bytes", 0) for network in networks.values())
        found["networkTxBytes"] = sum(network.get("tx_bytes", 0) for network in networks.values())
    return found


def cpu_percent(stats):
    """Return percent of one core over the two readings of a stats answer; 0 unless both deltas are positive.

    None (not measured) when the figure exceeds online_cpus * 100, which no container can use.
    """
    now, before = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    usage = now.get("cpu_usage") or {}
    cpu_delta = usage.get("total_usage", 0) - (before.get("cpu_usage") or {}).get("total_usage", 0)
    system_delta = now.get("system_cpu_usage", 0) - before.get("system_cpu_usage", 0)
    online_cpus = now.get("online_cpus") or len(usage.get("percpu_usage") or ())
    if cpu_delta > 0 and system_delta > 0:
        percent = cpu_delta / system_delta * online_cpus * 100
        # More than every online CPU can give is a garbled reading, not a busy container: not measured.
        return round(percent, 2) if percent <= online_cpus * 100 else None
    return 0.0


def memory_used(memory):
    """Return bytes in use less the inactive page cache: total_inactive_file (cgroup v1) or inactive_file (v2)."""
    usage, counters = memory["usage"], memory.get("stats") or {}
    # cgroup v1 also has inactive_file, for the cgroup alone: total_inactive_file is the one to use there.
    if "total_inactive_file" in counters and counters["total_inactive_file"] < usage:
        return usage - counters["total_inactive_file"]
    if counters.get("inactive_file", 0) < usage:
        return usage - counters.get("inactive_file", 0)
    return usage
