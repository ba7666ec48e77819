"""Both images built on the Engine, compose.yaml started: the agent's host and containers arrive at the server.

Needs KUBEWATCH_TEST_BASE_IMAGE, an image with Python 3.11+ already on the Engine (no registry is
reached: .ci/docker.sh's debian_image makes one with debootstrap); skipped without it, failed without
it where the Engine is required (KUBEWATCH_TEST_DOCKER=required or CI=true, as in .ci/run). With
KUBEWATCH_TEST_WHEELHOUSE (a URL serving a folder of wheels, as .ci/run sets) pip in the builds
installs from there alone instead of PyPI.
"""

import json
import os
import re
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from docker_engine import docker, engine, unavailable  # noqa: F401 (the fixture)
from live_server import ROOT, free_port
from polling import wait_until

pytestmark = pytest.mark.docker


def compose_command():
    """Return the Compose CLI this machine has: the docker plugin, or Debian's docker-compose."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    unavailable("neither `docker compose` nor docker-compose is installed")


def wait_for(check, what, timeout=120, explain=None):
    """Poll the stack every second; an answer not there yet (refused, not JSON, not complete) is not yet.

    On timeout the failure shows what explain() (when given) then says: a log.
    """
    return wait_until(check, what, timeout, every=1, ignore=(requests.RequestException, ValueError, KeyError),
                      explain=explain)


@pytest.fixture(scope="module")
def stack(engine):  # noqa: F811
    base = os.environ.get("KUBEWATCH_TEST_BASE_IMAGE")
    if not base:
        unavailable("KUBEWATCH_TEST_BASE_IMAGE names no base image to build on")
    if not docker("images", "-q", base):
        unavailable(f"the base image {base} (KUBEWATCH_TEST_BASE_IMAGE) is not on the Engine")
    compose = compose_command()
    wheelhouse = os.environ.get("KUBEWATCH_TEST_WHEELHOUSE")
    index = ["--build-arg", f"PIP_FIND_LINKS={wheelhouse}", "--build-arg", "PIP_NO_INDEX=1"] if wheelhouse else []
    for dockerfile, tag in (("Dockerfile", "kubewatch:latest"), ("docker/agent.Dockerfile", "kubewatch-agent:latest")):
        # Host networking for the build: the CI Engine runs without a bridge.
        docker("build", "--quiet", "--network", "host", "--build-arg", f"BASE={base}", *index, "-f", dockerfile,
               "-t", tag, str(ROOT), timeout=1200)
    socket_path = urlsplit(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")).path
    port = free_port()
    env = {**os.environ, "DOCKER_SOCKET": socket_path, "DOCKER_GID": str(os.stat(socket_path).st_gid),
           "KUBEWATCH_PUBLISH": f"127.0.0.1:{port}", "KUBEWATCH_BASE_IMAGE": base}
    project = ["-p", f"kwtest{uuid.uuid4().hex[:8]}", "-f", str(ROOT / "compose.yaml")]

    def run(*args, **settings):
        done = subprocess.run([*compose, *project, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={**env, **settings})
        assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done.stdout

    url = f"http://127.0.0.1:{port}"
    try:
        run("up", "-d", "--no-build", "server")
        wait_for(lambda: requests.get(url + "/healthz", timeout=2).status_code == 200, "the server",
                 explain=lambda: run("logs", "--no-color", "server"))
        logs = run("logs", "--no-color", "server")
        key = re.search(r"API key\s+(kw_live_\S+)", logs).group(1)
        password = re.search(r"password\s+(\S+)", logs).group(1)
        run("up", "-d", "--no-build", "agent", KUBEWATCH_API_KEY=key)
        yield {"url": url, "password": password, "run": run, "logs": logs}
    finally:
        subprocess.run([*compose, *project, "down", "-v", "--timeout", "5"], cwd=ROOT, capture_output=True,
                       timeout=300, env=env)


def as_admin(stack):
    token = requests.post(stack["url"] + "/api/v1/auth/login", timeout=5,
                          json={"email": "admin@kubewatch.local", "password": stack["password"]}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_agent_s_host_and_containers_arrive_at_the_server(stack):
    headers = as_admin(stack)

    def connected():
        listed = requests.get(stack["url"] + "/api/v1/agents", headers=headers, timeout=5).json()
        found = [agent for agent in listed if agent["name"] == "docker-host" and agent["status"] == "connected"]
        return found and found[0]["containerCount"] >= 2 and found[0]

    agent = wait_for(connected, "the agent's first push", explain=lambda: stack["run"]("logs", "--no-color", "agent"))
    assert agent["platform"] == "docker"
    assert re.fullmatch(r"machine-[0-9a-f]{12}", agent["hostname"])  # the host's /etc/machine-id, mounted
    containers = requests.get(f"{stack['url']}/api/v1/agents/{agent['id']}/containers", headers=headers,
                              timeout=5).json()
    names = {container["name"]: container for container in containers}
    server = next(name for name in names if name.endswith("-server-1") or name.endswith("_server_1"))
    assert names[server]["status"] == "running" and names[server]["memoryMB"] > 0
    nodes = requests.get(f"{stack['url']}/api/v1/agents/{agent['id']}/nodes", headers=headers, timeout=5).json()
    assert len(nodes) == 1  # the host itself


def test_the_server_runs_unprivileged_with_its_data_on_the_volume_and_reports_healthy(stack):
    server = next(cid for cid in stack["run"]("ps", "-q").split() if "kubewatch:latest" in docker("inspect", "-f", "{{.Config.Image}}", cid))
    inspected = json.loads(docker("inspect", server))[0]
    assert inspected["Config"]["User"] == "10001:10001"
    assert [mount["Destination"] for mount in inspected["Mounts"]] == ["/data"]
    assert "kubewatch.db" in docker("exec", server, "ls", "/data").split()
    assert wait_for(lambda: docker("inspect", "-f", "{{.State.Health.Status}}", server) == "healthy",
                    "the HEALTHCHECK", timeout=90)
