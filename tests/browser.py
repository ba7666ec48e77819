"""Headless Chromium (the system's, never a downloaded one) driven by Playwright, and the agents the tests push as."""

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from polling import wait_until

CHROMIUM = os.environ.get("KUBEWATCH_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.test", "admin password 1"


def launch(playwright):
    """Start the system's Chromium headless; fail (not skip) when it is missing: CI installs it."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: `apt-get install chromium`, as .ci/run does")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def container(cid, name, status="running", restarts=0, cpu=5.0, memory=64.0, rx=1000, tx=500):
    return {"id": cid, "name": name, "image": f"example/{name}:1", "status": status, "cpuPercent": cpu,
            "memoryMB": memory, "memoryLimitMB": 512, "networkRxBytes": rx, "networkTxBytes": tx,
            "restartCount": restarts}


class Agent:
    """An agent registered over HTTP with the server's first API key, pushing what a test says."""

    def __init__(self, url, api_key, name, platform="docker"):
        self.url = url
        answer = requests.post(f"{url}/api/v1/agents/register", headers={"X-API-Key": api_key}, timeout=10,
                               json={"name": name, "hostname": f"{name}-host", "version": "1.0.0",
                                     "platform": platform})
        answer.raise_for_status()
        self.id, self.token = answer.json()["agentId"], answer.json()["token"]

    def push(self, ts, containers, nodes=(), pods=()):
        answer = requests.post(f"{self.url}/api/v1/agents/{self.id}/push", timeout=10,
                               headers={"Authorization": f"Bearer {self.token}"},
                               json={"timestamp": iso(ts), "containers": containers, "nodes": list(nodes),
                                     "pods": list(pods)})
        assert answer.status_code == 200, answer.text


def sign_in(page, url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
    """Sign in through the form and wait for the agents page."""
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def followed_running(server, agent_id, name):
    """Wait until the server's evaluator has seen the container running: it fires only for one seen running."""
    def running():
        return server.rows("SELECT running FROM watched_containers WHERE agent_id = :agent AND name = :name",
                           agent=agent_id, name=name) == [(1,)]
    wait_until(running, "the evaluator to see the container running", 20)


def sideways_overflow(page):
    """Return what scrolls sideways on the page: the page itself or a table's frame, with the pixels hidden."""
    return page.evaluate("""() => {
        const found = [];
        const root = document.documentElement;
        if (root.scrollWidth > root.clientWidth) found.push(["page", root.scrollWidth - root.clientWidth]);
        for (const wrap of document.querySelectorAll(".tablewrap")) {
            if (!wrap.hidden && wrap.scrollWidth > wrap.clientWidth) {
                found.push([wrap.querySelector("table").id, wrap.scrollWidth - wrap.clientWidth]);
            }
        }
        return found;
    }""")
