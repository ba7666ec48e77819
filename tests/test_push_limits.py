"""What one agent may push: objects per push, objects described, pushes per interval, room in the database."""

import json
import tracemalloc

import pytest

import stored
from conftest import Org, fresh_config, bearer, container, sample_push
from kubewatch import create_app
from kubewatch.api import push_validation
from kubewatch.db import db

TS = "2026-06-16T10:00:00Z"


@pytest.fixture
def limited(db_engine, request):
    """An app with the settings the test's parameter gives, and an org in it."""
    app = create_app(fresh_config(**request.param))
    yield app, Org(app, app.test_client(), "acme")
    with app.app_context():
        db.engine.dispose()


def containers(count, prefix="c"):
    return [{"id": f"{prefix}{i}", "name": f"n{i}"} for i in range(count)]


def rows(app, table):
    with app.app_context(), db.engine.connect() as conn:
        return conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()


def test_the_defaults_fit_a_10000_pod_cluster(app):
    config = app.config
    assert config["MAX_OBJECTS_PER_PUSH"] >= 10_000 + 500  # its pods and their nodes
    assert config["MAX_DESCRIBED_OBJECTS"] >= 10 * 10_000  # each pod replaced ten times over at least
    assert config["PUSHES_PER_INTERVAL"] >= 2
    assert config["MAX_OBJECTS_PER_PUSH"] < 36_000  # the push that grew the database by 4.2 MB


@pytest.mark.parametrize("limited", [{"MAX_OBJECTS_PER_PUSH": 100}], indirect=True)
@pytest.mark.parametrize("kind", ["containers", "nodes", "pods"])
def test_a_push_of_more_objects_than_the_limit_is_413_and_stores_nothing(limited, kind):
    app, org = limited
    agent = org.register()
    objects = {"containers": containers(60), "nodes": [{"name": f"n{i}"} for i in range(41)], "pods": []}
    if kind == "pods":
        objects = {"containers": containers(60), "nodes": [], "pods": [{"name": f"p{i}", "namespace": "ns"}
                                                                       for i in range(41)]}
    elif kind == "containers":
        objects = {"containers": containers(101), "nodes": [], "pods": []}
    response = org.push(agent, {"timestamp": TS, **objects})
    assert response.status_code == 413
    assert "101" in response.json["message"] and "max_objects_per_push" in response.json["message"]
    assert [rows(app, table) for table in ("pushes", "containers", "nodes", "pods")] == [0, 0, 0, 0]
    assert org.push(agent, {"timestamp": TS, "containers": containers(100)}).status_code == 200


@pytest.mark.parametrize("limited", [{"MAX_DESCRIBED_OBJECTS": 50}], indirect=True)
def test_new_objects_past_the_described_limit_are_413_and_known_ones_still_push(limited):
    app, org = limited
    agent = org.register()
    assert org.push(agent, sample_push("2026-06-16T10:00:00Z", containers=containers(30))).status_code == 200
    # 30 described; 21 new ones would make 51, across kinds.
    too_many = sample_push("2026-06-16T10:00:15Z", containers=containers(30) + containers(11, "d"),
                           nodes=[{"name": f"n{i}"} for i in range(10)])
    response = org.push(agent, too_many)
    assert response.status_code == 413
    assert "max_described_objects" in response.json["message"]
    assert [rows(app, table) for table in ("pushes", "containers", "nodes")] == [1, 30, 0]
    # Up to the limit, and the same objects again, are taken.
    assert org.push(agent, sample_push("2026-06-16T10:00:30Z", containers=containers(30) + containers(20, "d"))
                    ).status_code == 200
    assert org.push(agent, sample_push("2026-06-16T10:00:45Z", containers=containers(30) + containers(20, "d"))
                    ).status_code == 200
    assert org.push(agent, sample_push("2026-06-16T10:01:00Z", containers=containers(1, "e"))).status_code == 413
    # Another agent has its own budget.
    other = org.register(name="other")
    assert org.push(other, sample_push(containers=containers(50))).status_code == 200


@pytest.mark.parametrize("limited", [{"PUSHES_PER_INTERVAL": 3, "PUSH_INTERVAL_SECONDS": 15}], indirect=True)
def test_pushes_past_the_rate_are_429_with_retry_after_and_other_agents_push_on(limited, monkeypatch):
    app, org = limited
    now = [1000.0]
    monkeypatch.setattr(app.extensions["kubewatch.push_limits"][0], "clock", lambda: now[0])
    agent, other = org.register(), org.register(name="other")
    for second in range(3):
        assert org.push(agent, sample_push(f"2026-06-16T10:00:0{second}Z")).status_code == 200
    refused = org.push(agent, sample_push("2026-06-16T10:00:03Z"))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "5"  # one push back every 15 / 3 s
    assert "More than 3 pushes in 15 s" in refused.json["message"]
    assert rows(app, "pushes") == 3
    assert org.push(other, sample_push()).status_code == 200
    now[0] += 5
    assert org.push(agent, sample_push("2026-06-16T10:00:03Z")).status_code == 200
    assert org.push(agent, sample_push("2026-06-16T10:00:04Z")).status_code == 429


@pytest.mark.parametrize("limited", [{"PUSHES_PER_INTERVAL": 2}], indirect=True)
def test_a_push_the_shortcut_hands_to_flask_is_counted_once(limited):
    app, org = limited
    agent = org.register()
    # Unknown fields send a push through PushSchema, after the shortcut has counted it.
    assert org.push(agent, sample_push("2026-06-16T10:00:00Z", kernel="6.1")).status_code == 200
    assert org.push(agent, sample_push("2026-06-16T10:00:01Z", kernel="6.1")).status_code == 200
    assert org.push(agent, sample_push("2026-06-16T10:00:02Z", kernel="6.1")).status_code == 429


@pytest.mark.parametrize("limited", [{"DATABASE_SIZE_LIMIT_MB": 1}], indirect=True)
def test_near_the_size_limit_new_objects_are_left_out_and_known_ones_stored(limited, monkeypatch):
    app, org = limited
    agent = org.register()
    size = app.extensions["kubewatch.push_limits"][1]
    # The sizes are set: an empty PostgreSQL database alone takes about 7 MB, an empty SQLite one less than 1.
    monkeypatch.setattr("kubewatch.repository.health.database_size", lambda: 0.5 * 2**20)
    monkeypatch.setattr(size, "_measured", (None, float("-inf")))
    assert org.push(agent, sample_push("2026-06-16T10:00:00Z", containers=[container("c1", "a")])).json == {"ok": True}
    monkeypatch.setattr("kubewatch.repository.health.database_size", lambda: 0.95 * 2**20)
    monkeypatch.setattr(size, "_measured", (None, float("-inf")))
    response = org.push(agent, sample_push("2026-06-16T10:00:15Z", containers=[container("c1", "a"),
                                                                              container("c2", "b")],
                                           pods=[{"name": "p", "namespace": "ns"}]))
    assert response.status_code == 200
    assert response.json["ok"] is True and response.json["leftOut"] == {"containers": 1, "pods": 1}
    assert "size limit" in response.json["message"]
    listed = org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer)).json
    assert [c["id"] for c in listed] == ["c1"]
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT runtime_id FROM containers").scalars().all() == ["c1"]
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM pods").scalar() == 0
        assert conn.exec_driver_sql("SELECT container_count, pod_count FROM agents").one() == (1, 0)
    samples = [(ts, key) for ts, key, _ in stored.unpacked(_pushes(app))]
    assert samples == [(1781604000, 1), (1781604015, 1)]
    # Known objects alone get the plain answer; below the limit again, new ones are described.
    assert org.push(agent, sample_push("2026-06-16T10:00:30Z", containers=[container("c1", "a")])).json == {"ok": True}
    monkeypatch.setattr("kubewatch.repository.health.database_size", lambda: 0.5 * 2**20)
    monkeypatch.setattr(size, "_measured", (None, float("-inf")))
    assert org.push(agent, sample_push("2026-06-16T10:00:45Z", containers=[container("c2", "b")])).json == {"ok": True}


def _pushes(app):
    with app.app_context(), db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT ts, containers FROM pushes ORDER BY ts").all()


def test_the_database_size_is_measured_from_its_pages(app):
    from kubewatch.repository import health
    with app.app_context():
        assert health.database_size() > 0


@pytest.mark.parametrize("limited", [{}], indirect=True)
def test_a_body_over_the_limit_is_refused_before_any_object_is_decoded(limited, monkeypatch):
    """A 1 MiB body of 36,000 objects: counted, not decoded into 36,000 objects and checked, then refused."""
    app, org = limited
    agent = org.register()
    decoded, real = [], push_validation._DECODER

    class Watched:
        def decode(self, raw):
            decoded.append(len(raw))
            return real.decode(raw)

    monkeypatch.setattr(push_validation, "_DECODER", Watched())
    raw = json.dumps({"timestamp": TS, "containers": [{"id": f"{i:08x}", "name": "c"} for i in range(36_000)]},
                     separators=(",", ":")).encode()
    assert len(raw) < 2**20
    tracemalloc.start()
    try:
        response = org.client.post(f"/api/v1/agents/{agent['agentId']}/push", data=raw,
                                   content_type="application/json", headers=bearer(agent["token"]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 413 and "36000" in response.json["message"]
    assert decoded == [] and rows(app, "pushes") == 0
    # The body, the test client's copies of it and the count's 36,000 views of it; decoding the
    # objects took 11 MiB more on its own.
    assert peak < 8 * 2**20, peak
    assert org.push(agent, {"timestamp": TS, "containers": containers(3)}).status_code == 200
    assert decoded  # a push within the limit is decoded as before
