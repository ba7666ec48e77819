"""One server process per SQLite file: a second is refused at start, and a crashed one blocks nothing."""

import signal
import subprocess
import sys

import requests

import engines
from live_server import ROOT, LiveServer, free_port

pytestmark = engines.sqlite_only("one server per SQLite file; on PostgreSQL several start at once (test_postgresql.py)")


def second_start(first):
    """Run another `python app.py` on first's database and another port; return (exit status, output)."""
    env = {**first.env, "KUBEWATCH_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    return done.returncode, done.stdout + done.stderr


def test_a_second_server_on_the_same_sqlite_file_is_refused_with_why_and_what_to_do(db_engine, tmp_path):
    first = LiveServer(tmp_path).start()
    try:
        status, output = second_start(first)
        assert status == 1
        assert f"another kubewatch server (pid {first.process.pid}) is serving {first.db_path.resolve()}" in output
        assert "PostgreSQL" in output and "Traceback" not in output
        assert requests.get(first.url + "/healthz", timeout=5).status_code == 200  # the first serves on
    finally:
        first.stop()


def test_a_killed_server_leaves_no_claim_behind(db_engine, tmp_path):
    first = LiveServer(tmp_path).start()
    first.stop(signal.SIGKILL)
    again = LiveServer(tmp_path).start()  # same database file, a new port
    try:
        assert requests.get(again.url + "/healthz", timeout=5).status_code == 200
    finally:
        again.stop()


def test_commands_run_beside_the_server(db_engine, tmp_path):
    server = LiveServer(tmp_path).start()
    try:
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "create-api-key", "--org", "default",
                               "--name", "beside"], cwd=ROOT, env=server.env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "kw_live_" in done.stdout
    finally:
        server.stop()
