"""Collectors: where the numbers come from, chosen by --platform or detected.

A collector has a `platform` name and a `collect()` method that returns a dict with any of
`containers`, `nodes` and `pods` (lists of push-payload objects), or raises
CollectorUnavailable when its source (the Docker Engine, the cluster) cannot be reached.
Each module imports its client library only when chosen, so the others need not be installed.
"""

import os
from pathlib import Path

PLATFORMS = ("docker", "kubernetes", "host")
DOCKER_SOCKET = Path("/var/run/docker.sock")


class CollectorUnavailable(Exception):
    """The collector's source cannot be reached now; str() says which and why, on one line.

    `collected` holds what could still be read (the machine's own node on a Docker host), as collect() returns it.
    """

    def __init__(self, reason, collected=None):
        super().__init__(reason)
        self.collected = collected or {}


class MissingLibrary(Exception):
    """The platform needs a client library that is not installed."""


def detect_platform(environ=os.environ, docker_socket=DOCKER_SOCKET):
    """Return kubernetes inside a pod, docker where a Docker Engine is configured or found, else host."""
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    if environ.get("DOCKER_HOST") or docker_socket.exists():
        return "docker"
    return "host"


def make_collector(platform, interfaces=None):
    """Return the collector of platform; raise MissingLibrary when its client library is absent.

    interfaces names the network interfaces the machine's traffic is counted on (None: the physical ones).
    """
    from kubewatch_agent.collectors.host import HostCollector
    if platform == "host":
        return HostCollector(interfaces=interfaces)
    try:
        if platform == "docker":
            from kubewatch_agent.collectors.docker import DockerCollector
            return WithMachine(DockerCollector(), HostCollector(interfaces=interfaces))
        if platform == "kubernetes":
            from kubewatch_agent.collectors.kubernetes import KubernetesCollector
            return KubernetesCollector()
    except ImportError as error:
        raise MissingLibrary(f"the {platform} platform needs the Python package {error.name!r}: install the "
                             f"agent with its {platform} extra, pip install '.[{platform}]' in the kubewatch "
                             "checkout") from None
    raise ValueError(f"unknown platform {platform!r}: choose one of {', '.join(PLATFORMS)}")


class WithMachine:
    """A runtime's collector plus the machine it runs on as a node: one agent for a Docker host."""

    def __init__(self, runtime, machine):
        self.runtime, self.machine = runtime, machine
        self.platform = runtime.platform

    def collect(self):
        """Return the runtime's objects and {"nodes": [this machine]}; raise CollectorUnavailable with the node."""
        found = self.machine.collect()
        try:
            found.update(self.runtime.collect())
        except CollectorUnavailable as error:
            raise CollectorUnavailable(str(error), {**error.collected, **found}) from None
        return found

    def close(self):
        """Drop the runtime's connection; the next collect connects again."""
        self.runtime.close()


def mib(number_of_bytes, digits=2):
    """Return bytes as MiB, the payload's memory unit, rounded to digits."""
    return round(number_of_bytes / 1048576, digits)
