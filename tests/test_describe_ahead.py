"""A big push's new objects are described ahead of it in chunks, each a short hold of the writer lock; the rows
left are the very rows one transaction leaves, a push never stored leaves nothing a reader sees, and its retry
is stored whole."""

import json
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from conftest import TEST_CONFIG, Org, bearer, container, sample_push
from engines import file_url, rows
from kubewatch import create_app, db as db_module
from kubewatch.api.push_validation import fast_load
from kubewatch.db import db, write
from kubewatch.repository import describe_ahead, prune_pass

NOW = int(time.time())


def stamp(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def big(ts, first, count, status="running"):
    return sample_push(stamp(ts), [container(f"{n:012x}", f"app-{n}", status=status, cpuPercent=n % 97)
                                   for n in range(first, first + count)])


PUSHES = [big(NOW - 300, 0, 2500), big(NOW - 290, 1200, 2500), big(NOW - 280, 1200, 2500, status="exited"),
          big(NOW - 270, 0, 30)]


def tables(url, agent_id):
    columns = {"containers": "key, runtime_id, name, image, status, first_seen, described_at",
               "pushes": "ts, rolled_up, containers, nodes, pods",
               "agents": "container_count, running_count, stopped_count, last_push_ts"}
    return {table: rows(url, f"SELECT {cols} FROM {table} WHERE {'id' if table == 'agents' else 'agent_id'} = :id "
                             "ORDER BY 1, 2", id=agent_id) for table, cols in columns.items()}


@pytest.fixture
def made(db_engine, tmp_path):
    apps = []

    def make(name, **settings):
        url = file_url(tmp_path / f"{name}.db")
        app = create_app(dict(TEST_CONFIG, DATABASE_URL=url, **settings))
        apps.append(app)
        org = Org(app, app.test_client(), "acme")
        return app, org, org.register(), url

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


class Holds:
    """The writer lock, counting the containers each hold by the pushing thread added."""

    def __init__(self, lock, url, agent_id):
        self.lock, self.url, self.agent_id, self.added = lock, url, agent_id, []
        self.thread = threading.current_thread()

    def count(self):
        return rows(self.url, "SELECT COUNT(*) FROM containers WHERE agent_id = :id", id=self.agent_id)[0][0]

    def __enter__(self):
        self.lock.acquire()
        self._before = self.count() if threading.current_thread() is self.thread else 0

    def __exit__(self, *exc):
        if threading.current_thread() is self.thread:
            self.added.append(self.count() - self._before)
        self.lock.release()


def test_chunks_leave_the_very_rows_one_transaction_leaves_and_hold_the_lock_for_a_chunk(made, monkeypatch):
    monkeypatch.setattr(describe_ahead, "AHEAD_CHUNK", 500)
    app, org, agent, url = made("chunked")
    holds = Holds(db_module._writer, url, agent["agentId"])
    monkeypatch.setattr(db_module, "_writer", holds)
    for body in PUSHES:
        assert org.push(agent, body).status_code == 200
    monkeypatch.undo()
    monkeypatch.setattr(describe_ahead, "AHEAD_FROM", 10**9)
    whole_app, whole_org, whole_agent, whole_url = made("whole")
    for body in PUSHES:
        assert whole_org.push(whole_agent, body).status_code == 200
    chunked, whole = tables(url, agent["agentId"]), tables(whole_url, whole_agent["agentId"])
    assert len(chunked["containers"]) == 3700 and chunked == whole
    # 2,500 new, then 1,300 new and 1,200 known: described 500 at a time, the push's own transaction adding none.
    assert holds.added[:5] == [500] * 5 and max(holds.added) == 500 and sum(holds.added) == 3700
    listed = org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer)).json
    assert len(listed) == 30


class Clock:
    """time as describe_ahead sees it, recording each rest it sleeps."""

    monotonic = staticmethod(time.monotonic)

    def __init__(self):
        self.slept = []

    def sleep(self, seconds):
        self.slept.append(seconds)
        time.sleep(seconds)


def test_chunks_rest_between_them_only_while_another_writer_of_the_process_waits(made, monkeypatch):
    monkeypatch.setattr(describe_ahead, "AHEAD_CHUNK", 100)  # many chunks: many ends of one to find a writer waiting
    clock = Clock()
    monkeypatch.setattr(describe_ahead, "time", clock)
    _, org, agent, url = made("alone")
    assert org.push(agent, PUSHES[0]).status_code == 200  # 25 chunks, and nobody waiting between them
    assert clock.slept == []

    stop, turns = threading.Event(), []

    def another_writer():  # as the pushes of other agents: short holds, one after another
        while not stop.is_set():
            with db_module.one_writer():
                turns.append(1)
                time.sleep(0.001)

    thread = threading.Thread(target=another_writer)
    thread.start()
    try:
        assert org.push(agent, PUSHES[1]).status_code == 200
    finally:
        stop.set()
        thread.join()
    assert clock.slept and turns and db_module.writers_waiting() == 0
    assert len(tables(url, agent["agentId"])["containers"]) == 3700


def test_a_push_never_stored_leaves_nothing_listed_its_retry_is_whole_and_the_prune_takes_the_rest(made):
    app, org, agent, url = made("unfinished")
    assert org.push(agent, big(NOW - 300, 0, 30)).status_code == 200
    path = f"/api/v1/agents/{agent['agentId']}/containers"
    before = org.client.get(path, headers=bearer(org.viewer)).json
    unfinished = big(NOW - 290, 0, 2500)
    with app.app_context():  # the server stops after describing ahead, before the push's transaction
        objects = {"containers": [_loaded(item) for item in unfinished["containers"]], "nodes": [], "pods": []}
        assert describe_ahead.describe_ahead(agent["agentId"], NOW - 290, objects) is not None
    assert org.client.get(path, headers=bearer(org.viewer)).json == before
    assert [row[0] for row in tables(url, agent["agentId"])["pushes"]] == [NOW - 300]
    assert org.push(agent, unfinished).status_code == 200  # the retry: stored whole, the objects found described
    assert len(org.client.get(path, headers=bearer(org.viewer)).json) == 2500
    keys = [row[0] for row in tables(url, agent["agentId"])["containers"]]
    assert keys == list(range(1, 2501))

    never = big(NOW - 280, 5000, 1500)
    with app.app_context():  # never retried: the prune deletes what has no sample
        objects = {"containers": [_loaded(item) for item in never["containers"]], "nodes": [], "pods": []}
        describe_ahead.describe_ahead(agent["agentId"], NOW - 280, objects)
        assert len(tables(url, agent["agentId"])["containers"]) == 4000
        prune_pass.prune(0, 0, 0)
    assert [row[0] for row in tables(url, agent["agentId"])["containers"]] == keys


def test_new_objects_past_the_described_limit_are_413_and_nothing_is_described(made):
    app, org, agent, url = made("limited", MAX_DESCRIBED_OBJECTS=2000)
    response = org.push(agent, big(NOW - 300, 0, 2500))
    assert response.status_code == 413 and "max_described_objects" in response.json["message"]
    assert tables(url, agent["agentId"])["containers"] == []


def test_descriptions_changed_between_two_chunks_leave_the_push_to_describe_the_rest(made, monkeypatch):
    monkeypatch.setattr(describe_ahead, "AHEAD_CHUNK", 500)
    app, org, agent, url = made("moved")
    real, entered = describe_ahead.write_cursor, []

    @contextmanager
    def moved_after_one_chunk():
        entered.append(1)
        if len(entered) == 2:  # another writer of descriptions comes between two chunks
            with write() as conn:
                conn.execute(text("UPDATE agents SET descriptions_version = descriptions_version + 1 WHERE id = :id"),
                             {"id": agent["agentId"]})
        with real() as cursor:
            yield cursor

    monkeypatch.setattr(describe_ahead, "write_cursor", moved_after_one_chunk)
    assert org.push(agent, PUSHES[0]).status_code == 200
    assert len(entered) == 2  # stopped at the second chunk
    assert [row[0] for row in tables(url, agent["agentId"])["containers"]] == list(range(1, 2501))
    path = f"/api/v1/agents/{agent['agentId']}/containers"
    assert len(org.client.get(path, headers=bearer(org.viewer)).json) == 2500


def _loaded(item):
    """A container as the push loader gives it: one attribute per column."""
    return fast_load(json.dumps({"timestamp": stamp(NOW), "containers": [item]}).encode()).containers[0]
