"""Packaging: the agent installs without the server's dependencies, and every pin agrees across the files that state it."""

import re
import subprocess
import sys
import tomllib

from live_server import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(lines):
    """Return {normalised name: version} of the name==version lines."""
    found = {}
    for line in lines:
        matched = re.match(r"\s*([A-Za-z0-9_.\-]+)(?:\[[a-z,]+\])?==([^\s#;]+)", line)
        if matched:
            found[re.sub(r"[-_.]+", "-", matched.group(1)).lower()] = matched.group(2)
    return found


def test_the_server_extra_pins_exactly_what_requirements_txt_pins():
    server = pins(PYPROJECT["optional-dependencies"]["server"])
    assert server == pins((ROOT / "requirements.txt").read_text().splitlines())


def test_the_agent_s_pins_are_the_ones_the_tests_install():
    agent = pins(PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["kubernetes"])
    assert len(agent) == len(PYPROJECT["dependencies"]) + 1, "every agent dependency is pinned with =="
    tested = pins((ROOT / "requirements-dev.txt").read_text().splitlines())
    assert {name: tested.get(name) for name in agent} == agent


def test_the_base_install_has_neither_flask_nor_the_kubernetes_client():
    base = pins(PYPROJECT["dependencies"])
    assert not {"flask", "werkzeug", "sqlalchemy", "waitress", "kubernetes"} & set(base)
    assert PYPROJECT["scripts"] == {"kubewatch-agent": "kubewatch_agent.cli:main", "kubewatch": "kubewatch.console:main"}


def test_no_agent_module_imports_the_server_or_flask():
    check = ("import pkgutil, importlib, sys, kubewatch_agent\n"
             "for module in pkgutil.walk_packages(kubewatch_agent.__path__, 'kubewatch_agent.'):\n"
             "    if module.name != 'kubewatch_agent.__main__':\n"
             "        importlib.import_module(module.name)\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubewatch', 'flask', 'werkzeug')))\n")
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


def test_the_postgresql_extra_pins_the_driver_requirements_postgresql_txt_pins_and_the_tests_install():
    extra = pins(PYPROJECT["optional-dependencies"]["postgresql"])
    listed = pins((ROOT / "requirements-postgresql.txt").read_text().splitlines())
    assert extra == {"psycopg": listed["psycopg"]} and listed["psycopg-binary"] == listed["psycopg"]
    assert "-r requirements-postgresql.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
