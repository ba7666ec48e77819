"""The kubernetes collector against a fake API server answering with recorded node, pod and summary JSON."""

import json
import logging

import pytest

from fake_kubernetes import FIXTURES, TOKEN, FakeApiServer
from kubewatch.api.push_schema import PushSchema
from kubewatch_agent.collectors import CollectorUnavailable
from kubewatch_agent.collectors.kubernetes import KubernetesCollector
from kubewatch_agent.sample import Sampler
from live_server import free_port

UIDS = {(pod["metadata"]["namespace"], pod["metadata"]["name"]): pod["metadata"]["uid"]
        for pod in json.loads((FIXTURES / "pods.json").read_text())["items"]}


@pytest.fixture
def api_server():
    fake = FakeApiServer().start()
    yield fake
    fake.stop()


@pytest.fixture
def collector(api_server, tmp_path):
    return KubernetesCollector(environ={"KUBECONFIG": str(api_server.kubeconfig(tmp_path / "kubeconfig"))})


@pytest.fixture
def collected(collector):
    return collector.collect()


def nodes(collected):
    return {node["name"]: node for node in collected["nodes"]}


def pods(collected):
    found = {}
    for pod in collected["pods"]:
        pod = dict(pod)
        assert pod.pop("uid") == UIDS[(pod["namespace"], pod["name"])]
        found[pod["name"]] = pod
    return found


def test_node_has_capacity_from_the_node_and_usage_from_its_kubelet_summary(collected):
    assert nodes(collected)["node-a"] == {
        "name": "node-a", "status": "Ready", "kubeletVersion": "v1.31.2", "cpuCores": 4.0,
        "cpuPercent": 25.0,  # 1e9 usageNanoCores of 4 cores
        "memoryMB": 4096.0, "memoryCapacityMB": 16384.0,  # 16777216Ki
        "podCount": 2, "podCapacity": 110,  # the Succeeded pod holds no slot
        "networkRxBytes": 123456789, "networkTxBytes": 98765432,  # the default interface, not eth0 + cni0
        "fsUsedBytes": 40000000000, "fsCapacityBytes": 105089261568}


def test_not_ready_node_with_millicores_and_an_answering_kubelet(collected):
    assert nodes(collected)["node-c"] == {
        "name": "node-c", "status": "NotReady", "kubeletVersion": "v1.31.2", "cpuCores": 2.0, "cpuPercent": 15.0,
        "memoryMB": 1024.0, "memoryCapacityMB": 7850.72, "podCount": 0, "podCapacity": 110,
        "networkRxBytes": 1000, "networkTxBytes": 2000, "fsUsedBytes": 5000000000, "fsCapacityBytes": 50000000000}


def test_node_whose_kubelet_does_not_answer_is_reported_without_usage(collected):
    assert nodes(collected)["node-b"] == {
        "name": "node-b", "status": "Unknown", "kubeletVersion": "v1.31.2", "cpuCores": 3.5,  # 3500m
        "memoryCapacityMB": 4096.0, "podCount": 1, "podCapacity": 110}


def test_a_silent_kubelet_is_logged_once_not_every_cycle(collector, caplog):
    caplog.set_level(logging.INFO, logger="kubewatch_agent")
    for _ in range(3):
        collector.collect()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("kubelet summary of node-b: ") and "503" in lines[0]


def test_pod_has_phase_readiness_restarts_and_the_sum_of_its_containers_usage(collected):
    assert pods(collected)["web-6d4b75cb6d-2xk9p"] == {
        "name": "web-6d4b75cb6d-2xk9p", "namespace": "default", "nodeName": "node-a", "phase": "Running",
        "ready": True, "containerCount": 2, "readyContainers": 2, "restartCount": 3,
        "cpuPercent": 20.0,  # 150e6 + 50e6 nanocores: a fifth of one core
        "memoryMB": 128.0, "memoryLimitMB": 384.0,  # 100 + 28 MiB working set; 256Mi + 128Mi
        "networkRxBytes": 5000000, "networkTxBytes": 7000000}
    assert pods(collected)["coredns-7db6d8ff4d-p4x8m"]["cpuPercent"] == 0.5


def test_finished_pod_keeps_its_phase_and_has_no_usage(collected):
    assert pods(collected)["migrate-28831234-wq5z7"] == {
        "name": "migrate-28831234-wq5z7", "namespace": "default", "nodeName": "node-a", "phase": "Succeeded",
        "ready": False, "containerCount": 1, "readyContainers": 0, "restartCount": 0, "memoryLimitMB": 64.0}


def test_unscheduled_pod_counts_its_containers_none_ready(collected):
    assert pods(collected)["web-6d4b75cb6d-h8r2t"] == {
        "name": "web-6d4b75cb6d-h8r2t", "namespace": "default", "phase": "Pending", "ready": False,
        "containerCount": 2, "readyContainers": 0, "restartCount": 0, "memoryLimitMB": 384.0}


def test_pod_with_a_container_without_memory_limit_reports_no_limit(collected):
    assert pods(collected)["node-exporter-q7w2r"] == {
        "name": "node-exporter-q7w2r", "namespace": "monitoring", "nodeName": "node-b", "phase": "Running",
        "ready": False, "containerCount": 1, "readyContainers": 0, "restartCount": 5}


def test_collector_authenticates_with_the_kubeconfig_and_reads_through_the_node_proxy(collected, api_server):
    paths = {path for path, _ in api_server.requests}
    assert {"/api/v1/nodes", "/api/v1/pods", "/api/v1/nodes/node-a/proxy/stats/summary"} <= paths
    assert {authorization for _, authorization in api_server.requests} == {f"Bearer {TOKEN}"}


def test_collected_body_is_a_valid_push(collector):
    body = Sampler(collector)()
    loaded = PushSchema().load(body)
    assert (len(loaded["nodes"]), len(loaded["pods"]), loaded["containers"]) == (3, 5, [])


def test_api_server_down_is_unavailable_with_a_one_line_reason(tmp_path):
    kubeconfig = FakeApiServer().kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{free_port()}")  # closed
    with pytest.raises(CollectorUnavailable) as raised:
        KubernetesCollector(environ={"KUBECONFIG": str(kubeconfig)}).collect()
    assert "\n" not in str(raised.value) and "Connection refused" in str(raised.value)


def test_no_cluster_configured_is_unavailable_not_fatal(tmp_path):
    with pytest.raises(CollectorUnavailable) as raised:
        KubernetesCollector(environ={"KUBECONFIG": str(tmp_path / "absent")}).collect()
    assert str(raised.value).startswith("no cluster to read")
