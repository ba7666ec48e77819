"""A push's objects are looked up in the unique index of their identity, one probe each, on both engines; on
PostgreSQL even for a new agent, whose objects statistics gathered before it say nothing of."""

import json

from sqlalchemy import text

import engines
from conftest import Org, fresh_config
from kubewatch import create_app
from kubewatch.db import db, driver, write
from kubewatch.repository.object_descriptions import lookup, lookup_statement

PODS = 2000
ASKED = 500


def _pods(conn, agent_id):
    conn.execute(text("INSERT INTO pods (agent_id, key, namespace, name, first_seen, described_at) "
                      "SELECT :id, n, 'team-' || (n % 40), 'job-' || n, 0, 0 FROM (" + _numbers() + ") AS numbers"),
                 {"id": agent_id})


def _numbers():
    if engines.on_postgresql():
        return f"SELECT generate_series(1, {PODS}) AS n"
    return f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {PODS}) SELECT n FROM s"


def _plan_nodes(node):
    yield node
    for child in node.get("Plans", ()):
        yield from _plan_nodes(child)


def test_a_new_agents_pods_are_found_by_the_index_not_compared_with_each_one_of_them(db_engine):
    app = create_app(fresh_config())
    org = Org(app, app.test_client(), "acme")
    old, new = (org.register(name, hostname=name)["agentId"] for name in ("old-cluster", "new-cluster"))
    asked = [(f"team-{n % 40}", f"job-{n}") for n in range(1, PODS + 1, PODS // ASKED)]
    with app.app_context():
        with write() as conn:
            _pods(conn, old)
        if engines.on_postgresql():
            with db.engine.connect() as conn:  # statistics that know the old agent's pods, and none of the new one's
                conn.execute(text("ANALYZE pods"))
                conn.commit()
        with write() as conn:
            _pods(conn, new)
            cursor = driver(conn)
            found = lookup(cursor, "pods", new, asked + [("team-0", "never-pushed")])
            assert sorted(found) == sorted(asked)
            assert sorted(known.key for known in found.values()) == list(range(1, PODS + 1, PODS // ASKED))
            statement, parameters = lookup_statement("pods", new, asked)
            if engines.on_postgresql():
                plan = cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).fetchone()[0]
                plan = plan if isinstance(plan, list) else json.loads(plan)
                compared = sum(node.get("Rows Removed by Join Filter", 0) + node.get("Rows Removed by Filter", 0)
                               for node in _plan_nodes(plan[0]["Plan"]))
                # Linear: at most each stored pod read once. Comparing each pod asked for with each of the
                # agent's pods, as a nested loop planned on the stale estimate did, is ASKED x PODS.
                assert compared <= 2 * PODS, plan
            else:
                steps = [row[-1] for row in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()]
                assert any(step.startswith("SEARCH o USING INDEX") and "namespace=? AND name=?" in step
                           for step in steps), steps
                assert not any(step.startswith("SCAN o") for step in steps), steps
    with app.app_context():
        db.engine.dispose()
