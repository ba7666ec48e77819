"""What the server keeps of each agent's objects between pushes is small, whatever their descriptions, and a
steady push still reads nothing; a push that changes a description reads and writes it."""

import gc
import sys

import pytest

import engines
from conftest import TEST_CONFIG, Org, bearer, container, sample_push
from kubewatch import create_app
from kubewatch.db import db
from kubewatch.repository import object_descriptions, push_objects

CONTAINERS = 30
LONG = "x" * 200  # descriptions far longer than what is kept of them


def deep_size(value, seen=None):
    """Return the bytes of value and of everything it refers to, each object once."""
    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, type):
        return 0
    seen.add(id(value))
    return sys.getsizeof(value) + sum(deep_size(inner, seen) for inner in gc.get_referents(value))


@pytest.fixture
def app(db_engine):
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=engines.fresh_url()))
    yield app
    with app.app_context():
        db.engine.dispose()


def push(org, agent, second, status="running"):
    body = sample_push(f"2026-06-16T10:00:{second:02d}Z", [
        container(f"{n:064x}", f"app-{n}-{LONG}", image=f"registry.example.com/{LONG}:{n}", status=status)
        for n in range(CONTAINERS)])
    assert org.push(agent, body).status_code == 200


def test_what_is_kept_of_an_agent_is_under_two_kilobytes_and_a_steady_push_reads_nothing(app):
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    push(org, agent, 0)
    with app.app_context():
        kept = push_objects.remembered(agent["agentId"])
    # 30 containers whose descriptions hold 12 KB of text: a digest and the keys are kept, no text.
    assert deep_size(kept) < 2048
    assert not any(isinstance(inner, str) and LONG in inner for inner in gc.get_referents(*kept.kinds.values()))

    raw = []
    with app.app_context():
        real = object_descriptions.lookup
        object_descriptions.lookup = lambda *args: raw.append(args) or real(*args)
        try:
            push(org, agent, 15)  # steady: the same objects, described as before
            assert raw == []
            push(org, agent, 30, status="exited")  # a change: read from the database, and written
            assert len(raw) == 1
        finally:
            object_descriptions.lookup = real
    listed = org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer)).json
    assert {c["status"] for c in listed} == {"exited"} and len(listed) == CONTAINERS
