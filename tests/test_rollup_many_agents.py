"""Many agents' pushes are rolled up and pruned in a number of write transactions that grows with the rows
to write or delete, not with the agents, each hold of the writer lock bounded, and the very rows that
rolling up agent by agent, or pruning in one unchunked pass, leaves."""

import threading
import time

import pytest
from sqlalchemy import event, text

import engines
from conftest import TEST_CONFIG, Org, container, sample_push
from kubewatch import buckets, create_app, db as db_module, rollup_chunks, rollup_job
from kubewatch.db import db
from kubewatch.kinds import KINDS
from kubewatch.repository import prune_pass, pruning, rollup_rows

MINUTE, HOUR, DAY = 60, 3600, 86400
AGENTS, CONTAINERS = 60, 3
SMALL_WRITES = {"WRITE_ROWS": 100, "HOUR_KEYS": 50}
SMALL_PRUNE = {"PRUNE_PUSHES": 100, "PRUNE_ROWS": 400, "PRUNE_KEYS": 100}
RETENTION = {"RAW_RETENTION": 48 * HOUR, "MINUTE_RETENTION": 14 * DAY, "HOUR_RETENTION": 400 * DAY}
JOB = "rollup-under-test"


def stamp(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class Holds:
    """The writer lock, recording the rows written by each hold the job's thread makes."""

    def __init__(self, lock):
        self.lock, self.rows, self._rows = lock, [], 0

    def __enter__(self):
        self.lock.acquire()
        self._rows = 0

    def __exit__(self, *exc):
        if threading.current_thread().name == JOB:
            self.rows.append(self._rows)
        self.lock.release()

    def count(self, rows):
        if threading.current_thread().name == JOB:
            self._rows += max(rows, 0)


@pytest.fixture
def crowd(db_engine, tmp_path):
    """Return a function building an app where AGENTS agents each pushed CONTAINERS containers every 15 s for
    two minutes, three hours ago; and {agent_id: name} of its agents."""
    built = []
    minute = int(time.time()) // HOUR * HOUR - 3 * HOUR + 10 * MINUTE

    def build():
        app = create_app(dict(TEST_CONFIG, DATABASE_URL=engines.fresh_url(), **RETENTION))
        built.append(app)
        org = Org(app, app.test_client(), "acme")
        named = {}
        for n in range(AGENTS):
            agent = org.register(name=f"agent-{n}")
            named[agent["agentId"]] = f"agent-{n}"
            for i, ts in enumerate(range(minute, minute + 2 * MINUTE, 15)):
                body = sample_push(stamp(ts), [container(f"c{k}", f"app-{k}", cpuPercent=(n + k + i) % 90,
                                                         networkRxBytes=1000 * i + n) for k in range(CONTAINERS)])
                assert org.push(agent, body).status_code == 200
        return app, named

    yield build, minute
    for app in built:
        with app.app_context():
            db.engine.dispose()


def watched(app, monkeypatch):
    holds = Holds(db_module._writer)
    monkeypatch.setattr(db_module, "_writer", holds)
    with app.app_context():
        event.listen(db.engine, "after_cursor_execute", lambda conn, cursor, *rest: holds.count(cursor.rowcount))
    # Rows and marks go through the driver's own cursor, which SQLAlchemy's events do not see.
    for name in ("write_minutes", "mark_rolled_up"):
        real = getattr(rollup_rows, name)
        monkeypatch.setattr(rollup_rows, name, lambda conn, *args, real=real: (holds.count(len(args[-1])),
                                                                               real(conn, *args))[1])
    return holds


def in_job_thread(app, work):
    done = []

    def job():
        with app.app_context():
            done.append(work())

    thread = threading.Thread(target=job, name=JOB)
    thread.start()
    thread.join()
    return done[0]


def rows_by_name(app, named):
    found = {}
    with app.app_context(), db.engine.connect() as conn:
        for kind in KINDS.values():
            columns = ", ".join(buckets.rollup_columns(kind))
            for row in conn.execute(text(f"SELECT agent_id, key, step, bucket, {columns} FROM {kind.rollups}")):
                found[(kind.name, named[row[0]], *row[1:4])] = tuple(row[4:])
        for row in conn.execute(text("SELECT agent_id, ts, rolled_up FROM pushes")):
            found[("push", named[row[0]], row[1])] = row[2]
        for row in conn.execute(text("SELECT agent_id, key FROM containers")):
            found[("container", named[row[0]], row[1])] = ()
    return found


def test_many_agents_are_rolled_up_in_few_bounded_writes_and_the_rows_of_going_agent_by_agent(crowd, monkeypatch):
    build, minute = crowd
    app, named = build()
    reference, reference_named = build()
    for name, value in SMALL_WRITES.items():
        monkeypatch.setattr(rollup_chunks, name, value)
    holds = watched(app, monkeypatch)
    now = int(time.time())

    done = in_job_thread(app, lambda: rollup_job.run(app.config, now))

    assert done.rolled_up == AGENTS * 8
    minute_rows, hour_keys = AGENTS * CONTAINERS * 2, AGENTS * CONTAINERS
    # Rows in slices of WRITE_ROWS, hours of HOUR_KEYS objects (each after the rows queued before it,
    # a slice whole or not), marks of WRITE_ROWS pushes, then the prune pass (nothing past retention:
    # one transaction, for the alerts): far fewer than the agents, who have 7 each going one by one.
    most = -(-minute_rows // 100) + 2 * -(-hour_keys // 50) + -(-AGENTS * 8 // 100) + 1
    assert len(holds.rows) <= most < AGENTS and max(holds.rows) <= 100
    with reference.app_context():
        for agent_id in reference_named:
            assert rollup_chunks.roll_up_agent(agent_id, now - now % MINUTE) == 8
    assert rows_by_name(app, named) == rows_by_name(reference, reference_named)
    counted = rows_by_name(app, named)  # keys: (kind, agent, key, step, bucket)
    assert sum(key[0] == "containers" and key[3] == MINUTE for key in counted) == minute_rows
    assert sum(key[0] == "containers" and key[3] == HOUR for key in counted) == hour_keys


@pytest.mark.parametrize("later, gone", [(49 * HOUR, "pushes"), (15 * DAY, "pushes and minutes")])
def test_many_agents_are_pruned_in_few_bounded_writes_and_as_one_unchunked_pass(crowd, monkeypatch, later, gone):
    build, minute = crowd
    app, named = build()
    reference, reference_named = build()
    now = int(time.time())
    for built in (app, reference):
        with built.app_context():
            assert rollup_job.run(built.config, now).rolled_up == AGENTS * 8
    for name, value in SMALL_PRUNE.items():
        monkeypatch.setattr(pruning, name, value)
    holds = watched(app, monkeypatch)
    then = now + later

    done = in_job_thread(app, lambda: rollup_job.run(app.config, then))

    # Pushes: PRUNE_PUSHES a transaction; minute rows: PRUNE_ROWS over at most PRUNE_KEYS objects.
    pushes, minute_rows = AGENTS * 8, AGENTS * CONTAINERS * 2 * (gone == "pushes and minutes")
    most = -(-pushes // 100) + -(-minute_rows // 400) + 2 * -(-AGENTS * CONTAINERS // 100) + 1
    assert done.pruned == pushes + minute_rows
    assert len(holds.rows) <= most < AGENTS and max(holds.rows) <= 400
    for name in SMALL_PRUNE:  # the reference: the same cutoffs, each kind of row deleted in one transaction
        monkeypatch.setattr(pruning, name, 10**9)
    monkeypatch.setattr(prune_pass, "OBJECT_PAGE", 10**9)
    with reference.app_context():
        assert prune_pass.prune((then - RETENTION["RAW_RETENTION"]) // MINUTE * MINUTE,
                                (then - RETENTION["MINUTE_RETENTION"]) // HOUR * HOUR,
                                (then - RETENTION["HOUR_RETENTION"]) // HOUR * HOUR) == done.pruned
    left = rows_by_name(app, named)
    assert left == rows_by_name(reference, reference_named)
    assert not any(key[0] == "push" for key in left)
    # The hours stay (and with them the objects' descriptions); the minutes go at 14 days.
    assert sum(key[0] == "containers" and key[3] == HOUR for key in left) == AGENTS * CONTAINERS
    assert sum(key[0] == "containers" and key[3] == MINUTE for key in left) == (
        AGENTS * CONTAINERS * 2 if gone == "pushes" else 0)
