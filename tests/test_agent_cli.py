"""The kubewatch-agent command, run as a user runs it: settings, --dry-run, --once and its exit codes, SIGTERM."""

import atexit
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from fake_docker import FakeEngine
from kubewatch.api.push_schema import PushSchema
from kubewatch_agent.cli import parser
from live_server import ROOT, LiveServer, free_port
from polling import wait_until

ADMIN = {"email": "ops@example.com", "password": "a long admin password"}
WRONG_KEY = "kw_live_" + "x" * 43


@pytest.fixture(scope="module")
def server(db_engine, tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("server"), PUSH_INTERVAL_SECONDS=1, ADMIN_EMAIL=ADMIN["email"],
                      ADMIN_PASSWORD=ADMIN["password"]).start()
    yield live
    live.stop()


def agent_env(**settings):
    """Return this environment without any kubewatch, Docker or cluster setting, plus settings.

    Each run is an installation of its own (its own state folder, no machine id) unless settings say otherwise.
    """
    kept = {k: v for k, v in os.environ.items()
            if not k.startswith(("KUBEWATCH_", "DOCKER_", "KUBERNETES_")) and k != "KUBECONFIG"}
    state = tempfile.mkdtemp(prefix="kubewatch-agent-state-")
    atexit.register(shutil.rmtree, state, ignore_errors=True)  # callers outlive a fixture's tmp_path
    return {**kept, "KUBEWATCH_STATE_DIR": state, "KUBEWATCH_MACHINE_ID_FILE": os.path.join(state, "no-machine-id"),
            **settings}


def agent(*args, env=None, timeout=30):
    """Run `python -m kubewatch_agent` (what the kubewatch-agent script runs) and return the finished process."""
    return subprocess.run([sys.executable, "-m", "kubewatch_agent", *args], cwd=ROOT, env=env or agent_env(),
                          capture_output=True, text=True, timeout=timeout)


def agents_on(server):
    token = requests.post(server.url + "/api/v1/auth/login", json=ADMIN, timeout=5).json()["token"]
    listed = requests.get(server.url + "/api/v1/agents", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    return {found["name"]: found for found in listed.json()}


def test_dry_run_prints_a_valid_push_body_without_contacting_the_server():
    unreachable = f"http://127.0.0.1:{free_port()}"
    done = agent("--dry-run", "--platform", "host", env=agent_env(KUBEWATCH_URL=unreachable))
    assert (done.returncode, done.stderr) == (0, "")
    loaded = PushSchema().load(json.loads(done.stdout))
    assert [node["name"] for node in loaded["nodes"]] == [socket.gethostname()]


def test_once_pushes_one_sample_and_exits_0(server):
    done = agent("--once", "--platform", "host", "--url", server.url, "--api-key", server.first_run_key(),
                 "--name", "cli-once")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("pushed 0 containers, 1 nodes and 0 pods as agent_")
    pushed = agents_on(server)["cli-once"]
    assert (pushed["status"], pushed["platform"], pushed["hostname"]) == ("connected", "host", socket.gethostname())


def test_once_with_a_wrong_key_exits_1_with_a_one_line_reason(server):
    done = agent("--once", "--platform", "host", "--url", server.url, "--api-key", WRONG_KEY)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("kubewatch-agent: registration refused (401): A valid X-API-Key header")
    assert WRONG_KEY not in done.stderr


def test_once_with_an_unreachable_server_exits_1_with_a_one_line_reason():
    url = f"http://127.0.0.1:{free_port()}"
    done = agent("--once", "--platform", "host", "--url", url, "--api-key", WRONG_KEY)
    assert done.returncode == 1
    assert done.stderr == f"kubewatch-agent: cannot reach the server at {url}: Connection refused\n"


def test_url_name_and_api_key_file_come_from_the_environment(server, tmp_path):
    key_file = tmp_path / "api-key"
    key_file.write_text(server.first_run_key() + "\n")
    done = agent("--once", "--platform", "host", env=agent_env(
        KUBEWATCH_URL=server.url, KUBEWATCH_API_KEY_FILE=str(key_file), KUBEWATCH_AGENT_NAME="from-env"))
    assert (done.returncode, done.stderr) == (0, "")
    assert agents_on(server)["from-env"]["status"] == "connected"


def test_an_unreadable_api_key_file_is_a_usage_error(tmp_path):
    done = agent("--once", "--url", "http://127.0.0.1:9", "--api-key-file", str(tmp_path / "absent"))
    assert done.returncode == 2
    assert done.stderr == (f"kubewatch-agent: cannot read the API key file {tmp_path / 'absent'}: "
                           "No such file or directory\n")


def test_without_url_or_key_the_command_says_which_settings_it_needs():
    done = agent("--platform", "host")
    assert done.returncode == 2 and "KUBEWATCH_URL and KUBEWATCH_API_KEY" in done.stderr


def test_flags_win_over_the_environment_and_the_name_defaults_to_the_hostname():
    environ = {"KUBEWATCH_URL": "http://from-env:8080", "KUBEWATCH_API_KEY": "kw_live_env"}
    args = parser(environ).parse_args(["--url", "http://from-flag:8080"])
    assert (args.url, args.name, args.api_key) == ("http://from-flag:8080", socket.gethostname(), None)
    assert parser({"KUBEWATCH_AGENT_NAME": "rack-2"}).parse_args([]).name == "rack-2"


def test_sigterm_stops_the_loop_and_exits_0(server):
    process = subprocess.Popen(
        [sys.executable, "-m", "kubewatch_agent", "--platform", "host", "--name", "cli-loop"], cwd=ROOT,
        env=agent_env(KUBEWATCH_URL=server.url, KUBEWATCH_API_KEY=server.first_run_key()),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: agents_on(server).get("cli-loop", {}).get("status") == "connected", "the agent to connect",
                   10, alive=lambda: process.poll() is None, explain=process.stderr.read)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    lines = stderr.splitlines()
    assert "registered as agent_" in lines[1] and lines[-1].endswith("stopped on SIGTERM")
    assert server.first_run_key() not in stderr


def nodes_of(server, agent_id):
    token = requests.post(server.url + "/api/v1/auth/login", json=ADMIN, timeout=5).json()["token"]
    listed = requests.get(f"{server.url}/api/v1/agents/{agent_id}/nodes",
                          headers={"Authorization": f"Bearer {token}"}, timeout=5)
    return [node["name"] for node in listed.json()]


@pytest.fixture
def docker_engine(tmp_path):
    engine = FakeEngine(tmp_path / "docker.sock").start()
    yield engine
    engine.stop()


def test_dry_run_on_a_docker_host_prints_its_containers_and_the_machine(docker_engine):
    done = agent("--dry-run", "--platform", "docker", env=agent_env(DOCKER_HOST=f"unix://{docker_engine.socket_path}"))
    assert (done.returncode, done.stderr) == (0, "")
    loaded = PushSchema().load(json.loads(done.stdout))
    assert len(loaded["containers"]) == 5
    assert [node["name"] for node in loaded["nodes"]] == [socket.gethostname()]


def test_once_on_a_docker_host_pushes_its_containers_and_the_machine_as_one_agent(server, docker_engine):
    done = agent("--once", "--platform", "docker", "--url", server.url, "--api-key", server.first_run_key(),
                 "--name", "docker-host", env=agent_env(DOCKER_HOST=f"unix://{docker_engine.socket_path}"))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("pushed 5 containers, 1 nodes and 0 pods as agent_")
    pushed = agents_on(server)["docker-host"]
    assert (pushed["platform"], pushed["containerCount"]) == ("docker", 5)
    assert nodes_of(server, pushed["id"]) == [socket.gethostname()]


@pytest.mark.parametrize("platform, settings, reason", [
    ("docker", {"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
     "kubewatch-agent: cannot reach the Docker Engine at unix:///nonexistent/docker.sock: "),
    ("docker", {"DOCKER_HOST": "tcp://127.0.0.1:{port}"}, "kubewatch-agent: cannot "),
    ("kubernetes", {"KUBECONFIG": "/nonexistent/kubeconfig"}, "kubewatch-agent: no cluster to read: "),
])
def test_once_exits_1_with_the_reason_and_pushes_nothing_when_the_platform_cannot_be_read(server, platform, settings,
                                                                                         reason):
    settings = {key: value.format(port=free_port()) for key, value in settings.items()}
    # The same name already pushed as a host agent: a failed --once must not relabel it or empty its nodes.
    first = agent("--once", "--platform", "host", "--url", server.url, "--api-key", server.first_run_key(),
                  "--name", f"kept-{platform}")
    assert first.returncode == 0, first.stderr
    before = agents_on(server)[f"kept-{platform}"]
    done = agent("--once", "--platform", platform, "--url", server.url, "--api-key", server.first_run_key(),
                 "--name", f"kept-{platform}", env=agent_env(**settings))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(reason), done.stderr
    after = agents_on(server)[f"kept-{platform}"]
    assert (after["platform"], after["lastSeen"]) == ("host", before["lastSeen"])
    assert nodes_of(server, after["id"]) == [socket.gethostname()]


def test_dry_run_prints_what_it_could_read_and_exits_1_when_the_platform_cannot_be_read():
    done = agent("--dry-run", "--platform", "docker", env=agent_env(DOCKER_HOST="unix:///nonexistent/docker.sock"))
    assert done.returncode == 1
    assert done.stderr.startswith("kubewatch-agent: cannot reach the Docker Engine at unix:///nonexistent/docker.sock")
    body = json.loads(done.stdout)
    assert (body["containers"], [node["name"] for node in body["nodes"]]) == ([], [socket.gethostname()])


def test_the_running_agent_without_docker_pushes_the_machine_and_logs_the_trouble_once(server):
    process = subprocess.Popen(
        [sys.executable, "-m", "kubewatch_agent", "--platform", "docker", "--name", "cli-no-docker"], cwd=ROOT,
        env=agent_env(KUBEWATCH_URL=server.url, KUBEWATCH_API_KEY=server.first_run_key(),
                      DOCKER_HOST="unix:///nonexistent/docker.sock"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def connected_with_its_host():
            found = agents_on(server).get("cli-no-docker", {})
            return found if found.get("status") == "connected" and nodes_of(server, found["id"]) else None

        found = wait_until(connected_with_its_host, "the agent to push its host", 15, every=0.2,
                           alive=lambda: process.poll() is None, explain=process.stderr.read)
        time.sleep(2.5)  # two more pushes at the 1 s interval: the trouble is still logged once
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert nodes_of(server, found["id"]) == [socket.gethostname()] and found["platform"] == "docker"
    assert stderr.count("docker: cannot reach the Docker Engine at unix:///nonexistent/docker.sock") == 1, stderr


def test_the_agent_command_of_the_first_start_banner_pushes_when_run_as_printed(server):
    line = next(line for line in server.output().splitlines() if "kubewatch-agent --url" in line)
    setting, command, *args = shlex.split(line)
    assert command == "kubewatch-agent"
    done = agent(*args, "--once", "--platform", "host", "--name", "from-banner",
                 env=agent_env(**dict([setting.split("=", 1)])))
    assert (done.returncode, done.stderr) == (0, "")
    assert agents_on(server)["from-banner"]["status"] == "connected"
