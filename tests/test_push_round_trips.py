"""A push's statements and round trips to PostgreSQL, counted on the wire; what they return, on both engines."""

from email.utils import formatdate

import engines
from conftest import Org, container, fresh_config, sample_push
from kubewatch import create_app
from kubewatch.db import db
from kubewatch.repository import pushes
from wire_count import WireCount

THIRTY = [container(f"c{n:011d}", f"service-{n}") for n in range(30)]


def steady(second, cpu=12.4):
    """Return a push of the same thirty containers at 10:00:second, with other samples."""
    return sample_push(f"2026-06-16T10:00:{second:02d}Z",
                       containers=[{**item, "cpuPercent": cpu + n} for n, item in enumerate(THIRTY)])


@engines.postgresql_only("round trips to a server: SQLite runs in process")
def test_a_steady_push_stores_in_four_statements_and_two_round_trips(db_engine, monkeypatch):
    proxy = WireCount(engines.fresh_url())
    app = create_app(fresh_config(DATABASE_URL=proxy.url))
    try:
        org = Org(app, app.test_client(), "acme")
        agent = org.register()
        stores = []
        store_push = pushes.store_push

        def counted(*args, **kwargs):
            before = proxy.counts()
            outcome = store_push(*args, **kwargs)
            stores.append(tuple(now - then for now, then in zip(proxy.counts(), before)))
            return outcome
        monkeypatch.setattr(pushes, "store_push", counted)
        assert org.push(agent, steady(0)).status_code == 200  # describes the thirty
        for second in (15, 30):
            before = proxy.counts()
            assert org.push(agent, steady(second, cpu=second)).status_code == 200
            whole = tuple(now - then for now, then in zip(proxy.counts(), before))
            # BEGIN with the update that marks the agent seen and reads any push stored for the
            # second; the push's row with COMMIT. (Before: BEGIN, the read, the update, the
            # insert and COMMIT, each a round trip.)
            assert stores[-1] == (2, 4)
            # The rest of the push: the revocation generation, read on every push on PostgreSQL,
            # outside a transaction. (Before: BEGIN, the read and the pool's ROLLBACK.)
            assert whole == (3, 5), whole
        retry = org.push(agent, steady(30, cpu=99))  # the retry: the stored push's samples are compared
        assert retry.status_code == 200 and stores[-1][0] <= 3
    finally:
        with app.app_context():
            db.engine.dispose()
        proxy.close()


def test_a_retry_marks_the_agent_seen_and_keeps_its_state_and_skew(app, org, query):
    agent = org.register()
    headers = {"Authorization": f"Bearer {agent['token']}"}
    url = f"/api/v1/agents/{agent['agentId']}/push"
    ts = 1781604000  # 2026-06-16T10:00:00Z
    first = org.client.post(url, json=steady(0), headers={**headers, "Date": formatdate(ts + 5, usegmt=True)})
    assert first.status_code == 200
    columns = ("container_count, running_count, restart_total, restarted_at, last_push_ts, clock_skew, state_at, "
               "descriptions_version")
    kept = query(f"SELECT {columns} FROM agents")[0]
    seen = query("SELECT last_seen FROM agents")[0][0]
    fewer = sample_push("2026-06-16T10:00:00Z", containers=[container("other", "other", restartCount=7)])
    retried = org.client.post(url, json=fewer, headers={**headers, "Date": formatdate(ts - 300, usegmt=True)})
    assert retried.status_code == 200
    assert query(f"SELECT {columns} FROM agents")[0] == kept
    assert query("SELECT last_seen FROM agents")[0][0] >= seen
    assert query("SELECT COUNT(*) FROM pushes")[0][0] == 1


def test_a_push_for_an_agent_gone_stores_nothing(app, org, query):
    agent = org.register()
    assert org.push(agent, steady(0)).status_code == 200
    with app.app_context():
        assert pushes.store_push("no-such-agent", 1781604000, 1781604100, {
            "containers": [], "nodes": [], "pods": []}) == pushes.GONE
    assert query("SELECT COUNT(*) FROM pushes")[0][0] == 1
