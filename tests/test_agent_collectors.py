"""Choosing a collector: detection of the platform, and a plain message when a library is missing."""

import builtins
import sys

import pytest

from kubewatch_agent.collectors import MissingLibrary, detect_platform, make_collector, mib


@pytest.mark.parametrize("environ, socket_exists, platform", [
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "DOCKER_HOST": "unix:///x"}, True, "kubernetes"),
    ({"DOCKER_HOST": "tcp://docker.lan:2376"}, False, "docker"),
    ({}, True, "docker"),
    ({}, False, "host"),
])
def test_platform_is_detected_from_where_the_agent_runs(tmp_path, environ, socket_exists, platform):
    socket_path = tmp_path / "docker.sock"
    if socket_exists:
        socket_path.touch()
    assert detect_platform(environ, socket_path) == platform


def test_each_platform_has_its_collector():
    for platform in ("docker", "kubernetes", "host"):
        assert make_collector(platform).platform == platform


def test_a_missing_client_library_names_the_extra_to_install(monkeypatch):
    real_import = builtins.__import__

    def without_kubernetes(name, *args, **kwargs):
        if name == "kubernetes" or name.startswith("kubernetes."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "kubewatch_agent.collectors.kubernetes", raising=False)
    monkeypatch.setattr(builtins, "__import__", without_kubernetes)
    with pytest.raises(MissingLibrary) as missing:
        make_collector("kubernetes")
    assert str(missing.value) == ("the kubernetes platform needs the Python package 'kubernetes': install the "
                                  "agent with its kubernetes extra, pip install '.[kubernetes]' in the kubewatch "
                                  "checkout")


def test_memory_is_reported_in_mib():
    assert (mib(536870912), mib(1), mib(1572864)) == (512.0, 0.0, 1.5)
