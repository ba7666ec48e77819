"""One server process leads at a time: always the one on SQLite, the advisory lock's holder on PostgreSQL."""

from sqlalchemy import create_engine, text

import engines as test_engines
from conftest import TEST_CONFIG
from polling import wait_until
from kubewatch import create_app, leadership
from kubewatch.db import db


@test_engines.sqlite_only("the one process of a SQLite file")
def test_the_one_process_of_a_sqlite_database_always_leads():
    app = create_app(dict(TEST_CONFIG))
    assert leadership.of(app).holds() and leadership.of(app).term == 1
    with app.app_context():
        db.engine.dispose()


@test_engines.postgresql_only("the advisory lock several processes take turns at")
def test_one_process_leads_until_it_lets_go_then_another_takes_over(postgres_url):
    engines = [create_engine(postgres_url) for _ in range(3)]
    first, second, third = leaders = [leadership.AdvisoryLock(engine) for engine in engines]
    try:
        assert [first.holds(), second.holds(), third.holds()] == [True, False, False]
        assert first.holds() and not second.holds()  # asked again, nothing changes
        first.release()
        assert [second.holds(), third.holds(), first.holds()] == [True, False, False]
        assert (first.term, second.term, third.term) == (1, 1, 0)
    finally:
        for held, engine in zip(leaders, engines):
            held.release()
            engine.dispose()


@test_engines.postgresql_only("the advisory lock several processes take turns at")
def test_the_lead_moves_when_the_leaders_session_dies(postgres_url):
    engines = [create_engine(postgres_url) for _ in range(2)]
    leader, other = leaders = [leadership.AdvisoryLock(engine) for engine in engines]
    try:
        assert leader.holds() and not other.holds()
        with engines[1].connect() as conn:  # as when the leader's process is killed: PostgreSQL ends its session
            ended = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks "
                                      "WHERE locktype = 'advisory' AND objid = :key AND database = "
                                      "(SELECT oid FROM pg_database WHERE datname = current_database())"),
                                 {"key": leadership.leader_lock.LEADER_LOCK}).scalars().all()
        assert ended == [True]
        # pg_terminate_backend only signals the session: its lock goes once the backend has exited. A
        # server asks again on its next tick; asked at once, the lock may still be held.
        wait_until(other.holds, "the other process to take the lead", 10, every=0.05)
        assert not leader.holds()  # its session is gone, and the lock with it: it asks again, and another holds it
        assert leader.holds() is False and other.holds() is True
    finally:
        for held, engine in zip(leaders, engines):
            held.release()
            engine.dispose()
