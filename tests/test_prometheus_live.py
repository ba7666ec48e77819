"""A real Prometheus (the `prometheus` binary) scrapes a live kubewatch with a read-only key and answers queries."""

import json
import shutil
import subprocess
import time

import pytest
import requests

from live_server import LiveServer, free_port
from polling import wait_until
from test_prometheus import dashboard_queries

pytestmark = pytest.mark.slow  # two Prometheus starts and their scrapes: about half a minute

ADMIN = {"email": "ops@example.com", "password": "a long admin password"}
PROMETHEUS = shutil.which("prometheus")


@pytest.fixture
def kubewatch(db_engine, tmp_path):
    server = LiveServer(tmp_path / "kubewatch", ADMIN_EMAIL=ADMIN["email"], ADMIN_PASSWORD=ADMIN["password"]).start()
    yield server
    server.stop()


@pytest.fixture
def start_prometheus(tmp_path):
    started = []

    def start(config):
        assert PROMETHEUS, "the prometheus binary is not installed (Debian: apt-get install prometheus)"
        (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        port = free_port()
        log = open(tmp_path / "prometheus.log", "w")
        process = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                                    f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                                   stdout=log, stderr=subprocess.STDOUT)
        started.append((process, log))
        url = f"http://127.0.0.1:{port}"

        def ready():
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            try:
                return requests.get(url + "/-/ready", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False
        wait_until(ready, "Prometheus being ready", 60, every=0.25)
        return url

    yield start
    for process, log in started:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_prometheus_scrapes_kubewatch_with_a_read_key_and_returns_the_pushed_cpu(kubewatch, start_prometheus):
    url = kubewatch.url
    agent = requests.post(url + "/api/v1/agents/register", headers={"X-API-Key": kubewatch.first_run_key()},
                          json={"name": "rack-1", "hostname": "rack-1.lan", "platform": "docker"}).json()
    pushed = requests.post(f"{url}/api/v1/agents/{agent['agentId']}/push",
                           headers={"Authorization": f"Bearer {agent['token']}"}, json={
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "nodes": [], "pods": [],
        "containers": [{"id": "f00dcafe0001", "name": "shop-db", "image": "postgres:16", "status": "running",
                        "cpuPercent": 37.25, "memoryMB": 300, "networkRxBytes": 5, "networkTxBytes": 6,
                        "restartCount": 2}]})
    assert pushed.status_code == 200, pushed.text
    admin = requests.post(url + "/api/v1/auth/login", json=ADMIN).json()["token"]
    read_key = requests.post(url + "/api/v1/api-keys", json={"name": "prometheus", "scope": "read"},
                             headers={"Authorization": f"Bearer {admin}"}).json()["key"]

    prometheus = start_prometheus({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "kubewatch", "scrape_interval": "1s", "metrics_path": "/metrics",
                            "authorization": {"credentials": read_key},
                            "static_configs": [{"targets": [url.removeprefix("http://")]}]}],
    })

    def query(promql):
        answer = requests.get(prometheus + "/api/v1/query", params={"query": promql}, timeout=5).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    cpu = wait_until(lambda: query('kubewatch_container_cpu_percent{container="shop-db"}'),
                     "a scrape holding the container's CPU", 60, every=0.25)
    assert len(cpu) == 1
    assert float(cpu[0]["value"][1]) == 37.25
    assert {k: cpu[0]["metric"][k] for k in ("agent", "agent_id", "container", "container_id", "image", "status")} == {
        "agent": "rack-1", "agent_id": agent["agentId"], "container": "shop-db", "container_id": "f00dcafe0001",
        "image": "postgres:16", "status": "running"}
    assert float(query('kubewatch_container_memory_bytes{container="shop-db"}')[0]["value"][1]) == 300 * 1024 * 1024
    assert float(query('kubewatch_container_restarts_total{container="shop-db"}')[0]["value"][1]) == 2
    assert [float(r["value"][1]) for r in query('kubewatch_agent_up{agent="rack-1"}')] == [1]
    assert [r["value"][1] for r in query('up{job="kubewatch"}')] == ["1"]
    assert [r["metric"]["status"] for r in query("kubewatch_pushes_received_total")] == ["200"]
    for promql in dashboard_queries():  # every panel of docs/grafana-dashboard.json is PromQL Prometheus takes
        query(promql)


def test_prometheus_with_an_ingest_key_gets_nothing_and_says_401(kubewatch, start_prometheus):
    prometheus = start_prometheus({
        "scrape_configs": [{"job_name": "kubewatch", "scrape_interval": "1s",
                            "authorization": {"credentials": kubewatch.first_run_key()},
                            "static_configs": [{"targets": [kubewatch.url.removeprefix("http://")]}]}],
    })

    def target_error():
        targets = requests.get(prometheus + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return targets and targets[0]["health"] == "down" and targets[0]["lastError"]
    assert "401" in wait_until(target_error, "a failed scrape", 60, every=0.25)
    assert requests.get(prometheus + "/api/v1/query", params={"query": "kubewatch_agent_up"}).json()["data"]["result"] == []
