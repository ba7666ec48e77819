"""The kubewatch command: the app's flask commands and serve, from any directory, data in the instance folder."""

import os
import re
import socket
import subprocess
import sys

import pytest

from live_server import ROOT

PASSWORD = "password123"


@pytest.fixture
def elsewhere(tmp_path):
    """Return (run, instance folder): run(*args) runs `kubewatch args` from a directory that is not the checkout."""
    cwd, instance = tmp_path / "cwd", tmp_path / "instance"
    cwd.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("KUBEWATCH_", "FLASK_"))},
           # What `pip install` gives: the package importable from anywhere.
           "PYTHONPATH": str(ROOT), "KUBEWATCH_INSTANCE_PATH": str(instance), "KUBEWATCH_SECRET_KEY": "console-test"}

    def run(*args, stdin="", **settings):
        return subprocess.run([sys.executable, "-m", "kubewatch.console", *args], cwd=cwd, input=stdin,
                              env={**env, **settings}, capture_output=True, text=True, timeout=60)
    return run, instance


def commands(help_text):
    """Return the command names a click --help lists."""
    listed = help_text.split("Commands:", 1)[1]
    return {match.group(1) for match in re.finditer(r"^  (\S+)", listed, re.M)}


def test_every_flask_command_of_the_app_is_a_kubewatch_command(elsewhere):
    run, _ = elsewhere
    flask = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "--help"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60, env={**os.environ, "KUBEWATCH_SECRET_KEY": "console-test"})
    ours = run("--help")
    assert ours.returncode == 0, ours.stderr
    assert commands(ours.stdout) == commands(flask.stdout)
    assert {"serve", "init-db", "create-user", "create-api-key", "prune"} <= commands(ours.stdout)


def test_commands_work_from_another_directory_and_keep_data_in_the_instance_folder(elsewhere):
    run, instance = elsewhere
    assert run("init-db").returncode == 0
    created = run("create-user", "ann@acme.test", "--org", "acme", "--create-org", "--password-stdin",
                  stdin=PASSWORD + "\n")
    assert (created.returncode, created.stdout.strip()) == (0, "Created viewer ann@acme.test in organization acme.")
    key = run("create-api-key", "--org", "acme")
    assert key.returncode == 0 and key.stdout.startswith("kw_live_")
    assert run("prune").returncode == 0
    assert (instance / "kubewatch.db").exists()
    assert not list((instance.parent / "cwd").iterdir())


def test_a_setting_that_cannot_work_ends_the_command_with_one_line(elsewhere):
    run, _ = elsewhere
    done = run("init-db", KUBEWATCH_PORT="eighty")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "kubewatch: KUBEWATCH_PORT must be an integer, not 'eighty'\n"


def test_serve_on_a_taken_port_says_which_and_where_it_was_set_in_one_line(elsewhere, tmp_path):
    run, _ = elsewhere
    config = tmp_path / "config.toml"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config.write_text(f'host = "127.0.0.1"\nport = {port}\n')
        done = run("serve", KUBEWATCH_CONFIG=str(config))
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    assert error == (f"Error: cannot listen on 127.0.0.1:{port}: the address is already in use (another server, or "
                     f"an earlier kubewatch?); host set in {config}, port set in {config}")
    assert f"settings: the defaults, then the file {config}, then KUBEWATCH_* variables" in done.stderr
    assert "Traceback" not in done.stderr and "API key" not in done.stdout


def test_python_app_py_on_a_taken_port_exits_1_with_one_line_naming_the_environment(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("KUBEWATCH_")},
               "KUBEWATCH_CONFIG": os.devnull, "KUBEWATCH_PORT": str(port), "KUBEWATCH_HOST": "127.0.0.1",
               "KUBEWATCH_INSTANCE_PATH": str(tmp_path), "KUBEWATCH_SECRET_KEY": "console-test"}
        done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines()[-1] == (
        f"kubewatch: cannot listen on 127.0.0.1:{port}: the address is already in use (another server, or an "
        "earlier kubewatch?); host set by KUBEWATCH_HOST in the environment, port set by KUBEWATCH_PORT in the "
        "environment")


def test_version_names_the_release_and_the_schema_version_without_a_database(elsewhere):
    from kubewatch import __version__
    from kubewatch.db import SCHEMA_VERSION

    run, instance = elsewhere
    shown = run("--version")
    assert (shown.returncode, shown.stdout.strip()) == (0, f"kubewatch {__version__}, schema version {SCHEMA_VERSION}")
    assert not instance.exists()  # nothing was created to answer it
