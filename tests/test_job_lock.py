"""One run of the rollup job at a time on a database: the server's timer skips its tick while `flask prune`
runs, and `flask prune` waits for the server's run; on both engines, across processes."""

import threading
import time

import pytest
import requests
from sqlalchemy import text

import engines
from conftest import TEST_CONFIG
from kubewatch import create_app, job_lock
from kubewatch.repository import leader_lock
from kubewatch.api.fields import EpochTime
from kubewatch.db import db
from live_server import LiveServer
from polling import wait_until


@pytest.fixture
def file_app(db_engine, tmp_path):
    """An app on a database in a file (SQLite) or of its own (PostgreSQL), as a server's."""
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=engines.file_url(tmp_path / "kubewatch.db")))
    yield app
    with app.app_context():
        db.engine.dispose()


class Holder:
    """Hold the job's lock on a thread of its own until released, as another process's run would."""

    def __init__(self, app):
        self.app, self.taken, self.release = app, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)
        self.thread.start()
        assert self.taken.wait(10)

    def _hold(self):
        with self.app.app_context(), job_lock.held(wait=True):
            self.taken.set()
            self.release.wait(30)

    def stop(self):
        self.release.set()
        self.thread.join(10)


def test_a_run_holding_the_job_keeps_another_out_until_it_ends(file_app):
    holder = Holder(file_app)
    try:
        with file_app.app_context(), job_lock.held(wait=False) as taken:
            assert not taken
    finally:
        holder.stop()
    with file_app.app_context(), job_lock.held(wait=False) as taken:
        assert taken


def test_flask_prune_waits_for_the_run_under_way_then_runs(file_app):
    holder = Holder(file_app)
    result = []
    pruning = threading.Thread(target=lambda: result.append(file_app.test_cli_runner().invoke(args=["prune"])))
    pruning.start()
    try:
        time.sleep(1)
        assert pruning.is_alive() and not result  # waiting for the other run
    finally:
        holder.stop()
    pruning.join(30)
    [done] = result
    assert done.exit_code == 0, done.output
    assert "waiting for it to end" in done.output
    assert "Rolled up 0 pushes; pruned 0 rows." in done.output


def test_the_servers_timer_skips_its_tick_while_another_run_holds_the_job(db_engine, tmp_path):
    server = LiveServer(tmp_path, ROLLUP_INTERVAL=1, ADMIN_PASSWORD="a long admin password").start()
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=server.database_url))
    try:
        registered = requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": server.first_run_key()},
                                   json={"name": "web", "hostname": "web-01"}).json()
        holder = Holder(app)  # as `flask prune` would, from this process
        try:
            minute = int(time.time()) // 60 * 60 - 120  # a whole minute, the timer's to take
            response = requests.post(f"{server.url}/api/v1/agents/{registered['agentId']}/push",
                                     headers={"Authorization": f"Bearer {registered['token']}"},
                                     json={"timestamp": EpochTime.format(minute),
                                           "containers": [{"id": "c1", "name": "web", "cpuPercent": 10.0}]})
            assert response.status_code == 200
            wait_until(lambda: "rollup job skipped" in server.output(), "the timer to skip a tick", 10, every=0.2)
            assert server.rows("SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(1,)]
        finally:
            holder.stop()
        wait_until(lambda: server.rows("SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") == [(0,)],
                   "the timer to roll up once the job is free", 15, every=0.2)
    finally:
        with app.app_context():
            db.engine.dispose()
        server.stop()


@engines.postgresql_only("the advisory lock of a session that can die mid-run")
def test_a_run_whose_lock_session_died_ends_without_an_error_and_frees_the_job(file_app):
    with file_app.app_context():
        with job_lock.held(wait=False) as taken:
            assert taken
            with db.engine.connect() as conn:  # as when PostgreSQL restarts, or ends an idle session
                ended = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                                          "AND objid = :key AND database = (SELECT oid FROM pg_database WHERE "
                                          "datname = current_database())"), {"key": leader_lock.JOB_LOCK}).scalars().all()
            assert ended == [True]
        with job_lock.held(wait=False) as taken:  # the lock went with the session
            assert taken

