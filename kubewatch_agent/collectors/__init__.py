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
    """The collector's source cannot be reached now; str() says which and why, on one line."""


class MissingLibrary(Exception):
    """The platform needs a client library that is not installed."""


def detect_platform(environ=os.environ, docker_socket=DOCKER_SOCKET):
    """Return kubernetes inside a pod, docker where a Docker Engine is configured or found, else host."""
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    if environ.get("DOCKER_HOST") or docker_socket.exists():
        return "docker"
    return "host"


def make_collector(platform):
    """Return the collector of platform; raise MissingLibrary when its client library is absent."""
    if platform == "host":
        from kubewatch_agent.collectors.host import HostCollector
        return HostCollector()
    try:
        if platform == "docker":
            from kubewatch_agent.collectors.docker import DockerCollector
            return DockerCollector()
        if platform == "kubernetes":
            from kubewatch_agent.collectors.kubernetes import KubernetesCollector
            return KubernetesCollector()
    except ImportError as error:
        raise MissingLibrary(f"the {platform} platform needs the Python package {error.name!r}: install the "
                             f"agent with its {platform} extra, pip install '.[{platform}]' in the kubewatch "
                             "checkout") from None
    raise ValueError(f"unknown platform {platform!r}: choose one of {', '.join(PLATFORMS)}")


def mib(number_of_bytes, digits=2):
    """Return bytes as MiB, the payload's memory unit, rounded to digits."""
    return round(number_of_bytes / 1048576, digits)
