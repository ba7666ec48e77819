"""The agent's instanceId: one per installation, from the machine id, the cluster, or a kept file."""

import logging
import re
import subprocess
import sys

import pytest

from fake_kubernetes import FakeApiServer
from kubewatch_agent.collectors import CollectorUnavailable
from kubewatch_agent.collectors.kubernetes import KubernetesCollector
from kubewatch_agent.instance import default_state_dir, instance_id
from live_server import ROOT, LiveServer
from test_agent_cli import agent_env

MACHINE = "4c1f0e3a9b2d47e8a6c5b3f2e1d0c9b8"
KUBE_SYSTEM_UID = "5b0d3f5e-8a2c-4c1e-9f53-0d8a7b6e21c4"  # tests/fixtures/kubernetes/namespace-kube-system.json


@pytest.fixture
def machine_id(tmp_path):
    path = tmp_path / "machine-id"
    path.write_text(MACHINE + "\n")
    return path


def test_a_host_and_a_docker_agent_on_one_machine_have_two_ids_each_stable(machine_id, tmp_path):
    host = instance_id("host", tmp_path / "a", machine_id=machine_id)
    docker = instance_id("docker", tmp_path / "b", machine_id=machine_id)
    assert re.fullmatch(r"[0-9a-f]{32}", host) and re.fullmatch(r"[0-9a-f]{32}", docker)
    assert host != docker
    assert instance_id("host", tmp_path / "c", machine_id=machine_id) == host  # the state folder does not matter
    assert MACHINE not in (host, docker)  # the machine id itself is never sent
    assert not (tmp_path / "a").exists()  # nothing written where the machine has an id


def test_two_machines_have_two_ids(machine_id, tmp_path):
    other = tmp_path / "other-machine-id"
    other.write_text("0f" * 16 + "\n")
    assert instance_id("host", tmp_path, machine_id=machine_id) != instance_id("host", tmp_path, machine_id=other)


@pytest.mark.parametrize("content", [None, "", "0" * 32, "not-a-machine-id\n"],
                         ids=["missing", "empty", "unset image", "garbled"])
def test_without_a_machine_id_a_random_id_is_kept_in_the_state_folder(tmp_path, content):
    machine_id = tmp_path / "machine-id"
    if content is not None:
        machine_id.write_text(content)
    first = instance_id("host", tmp_path / "state", machine_id=machine_id)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert (tmp_path / "state" / "instance-id").exists()
    assert instance_id("host", tmp_path / "state", machine_id=machine_id) == first
    assert instance_id("host", tmp_path / "elsewhere", machine_id=machine_id) != first


def test_a_state_folder_that_cannot_be_written_gives_no_id_and_says_so(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING, "kubewatch_agent"):
        assert instance_id("host", blocker / "state", machine_id=tmp_path / "absent") is None
    assert "know this agent by name and hostname" in caplog.text


def test_default_state_folder_follows_xdg_state_home(tmp_path):
    assert default_state_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "kubewatch-agent"


@pytest.fixture
def api_server():
    fake = FakeApiServer().start()
    yield fake
    fake.stop()


def _collector(api_server, path):
    return KubernetesCollector(environ={"KUBECONFIG": str(api_server.kubeconfig(path))})


def test_in_a_cluster_every_pod_of_the_agent_has_the_id_of_the_kube_system_namespace(api_server, tmp_path,
                                                                                      machine_id):
    first, restarted = _collector(api_server, tmp_path / "k1"), _collector(api_server, tmp_path / "k2")
    assert first.namespace_uid() == KUBE_SYSTEM_UID
    found = instance_id("kubernetes", tmp_path / "s1", machine_id=machine_id, cluster_uid=first.namespace_uid)
    assert found == instance_id("kubernetes", tmp_path / "s2", cluster_uid=restarted.namespace_uid)
    assert found != instance_id("host", tmp_path / "s3", machine_id=machine_id)
    assert not (tmp_path / "s1").exists()
    assert ("/api/v1/namespaces/kube-system", "Bearer fake-service-account-token") in api_server.requests


def test_in_a_cluster_without_access_to_namespaces_the_id_is_kept_in_the_state_folder(api_server, tmp_path,
                                                                                       caplog):
    api_server.forbidden_namespaces = True
    collector = _collector(api_server, tmp_path / "k")
    assert collector.namespace_uid() is None
    with caplog.at_level(logging.WARNING, "kubewatch_agent"):
        found = instance_id("kubernetes", tmp_path / "state", cluster_uid=collector.namespace_uid)
    assert found == instance_id("kubernetes", tmp_path / "state", cluster_uid=collector.namespace_uid)
    assert "get on namespaces" in caplog.text


def test_an_unreachable_cluster_gives_no_id_and_keeps_nothing(tmp_path, caplog):
    from live_server import free_port
    fake = FakeApiServer()
    path = fake.kubeconfig(tmp_path / "k", server=f"http://127.0.0.1:{free_port()}")
    collector = KubernetesCollector(environ={"KUBECONFIG": str(path)})
    with pytest.raises(CollectorUnavailable):
        collector.namespace_uid()
    with caplog.at_level(logging.WARNING, "kubewatch_agent"):
        assert instance_id("kubernetes", tmp_path / "state", cluster_uid=collector.namespace_uid) is None
    assert not (tmp_path / "state").exists() and caplog.text == ""


@pytest.fixture(scope="module")
def server(db_engine, tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("server"), ADMIN_PASSWORD="a long admin password").start()
    yield live
    live.stop()


def once(server, name, **settings):
    done = subprocess.run([sys.executable, "-m", "kubewatch_agent", "--once", "--platform", "host", "--name", name],
                          cwd=ROOT, capture_output=True, text=True, timeout=30, env=agent_env(
                              KUBEWATCH_URL=server.url, KUBEWATCH_API_KEY=server.first_run_key(), **settings))
    assert done.returncode == 0, done.stderr
    return re.search(r"as (agent_\w+)", done.stdout).group(1)


def test_over_http_two_machines_named_debian_are_two_agents_and_a_renamed_one_keeps_its_id(server, tmp_path):
    machines = []
    for number in range(2):
        path = tmp_path / f"machine-{number}"
        path.write_text(f"{number + 1:032x}\n")
        machines.append(str(path))
    first = once(server, "debian", KUBEWATCH_MACHINE_ID_FILE=machines[0])
    second = once(server, "debian", KUBEWATCH_MACHINE_ID_FILE=machines[1])
    assert first != second
    assert once(server, "debian-renamed", KUBEWATCH_MACHINE_ID_FILE=machines[0]) == first


def test_over_http_an_agent_keeps_its_id_through_its_state_folder(server, tmp_path):
    state = str(tmp_path / "state")
    absent = str(tmp_path / "no-machine-id")
    first = once(server, "no-machine-id", KUBEWATCH_STATE_DIR=state, KUBEWATCH_MACHINE_ID_FILE=absent)
    assert once(server, "no-machine-id", KUBEWATCH_STATE_DIR=state, KUBEWATCH_MACHINE_ID_FILE=absent) == first
    assert once(server, "no-machine-id", KUBEWATCH_STATE_DIR=str(tmp_path / "other"),
                KUBEWATCH_MACHINE_ID_FILE=absent) != first
