"""The push path's shortcuts: the fast loader, waitress set to send from its loop, one connection kept for writes."""


import pytest
import waitress

import engines
from conftest import Org, bearer, container, fresh_config, sample_push
from kubewatch import create_app, db, server
from kubewatch.api import push_validation
from kubewatch.config import DEFAULTS
from kubewatch.repository import push_objects, pushes

def forbid_the_schema(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("PushSchema was asked to load a valid push")
    monkeypatch.setattr(push_validation._SCHEMA, "load", refused)


def test_a_valid_push_is_loaded_without_the_schema(org, monkeypatch, query):
    agent = org.register()
    forbid_the_schema(monkeypatch)
    body = {"timestamp": "2026-06-16T10:00:00Z", "containers": [container(f"c{i}", f"n{i}") for i in range(50)],
            "nodes": [{"name": "n1", "status": "Ready"}], "pods": [{"name": "p", "namespace": "d", "ready": True}]}
    assert org.push(agent, body).status_code == 200
    assert query("SELECT COUNT(*) FROM containers")[0][0] == 50


def test_a_push_with_a_json_suffix_type_is_loaded_without_the_schema(client, org, monkeypatch):
    agent = org.register()
    forbid_the_schema(monkeypatch)
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", headers=bearer(agent["token"]),
                           data='{"timestamp": "2026-06-16T10:00:00Z", "containers": []}',
                           content_type="application/vnd.kubewatch+json")
    assert response.status_code == 200


def test_a_push_that_is_not_json_by_its_type_is_left_to_the_schema(client, org):
    agent = org.register()
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", headers=bearer(agent["token"]),
                           data='{"timestamp": "2026-06-16T10:00:00Z", "containers": []}', content_type="text/plain")
    assert response.status_code == 400
    assert response.json["errors"]["json"]["timestamp"] == ["Missing data for required field."]


def test_the_push_answer_is_the_documented_json(org):
    agent = org.register()
    response = org.push(agent, {"timestamp": "2026-06-16T10:00:00Z", "containers": []})
    assert (response.status_code, response.content_type, response.json) == (200, "application/json", {"ok": True})


def test_waitress_sends_from_its_main_loop_and_warns_of_nothing(monkeypatch):
    # pytest.ini turns warnings into errors: a deprecation warning from waitress would fail here.
    made, real = [], waitress.create_server

    def create_server(app, **options):
        made.append(real(app, **options))
        made[-1].run = made[-1].close  # the test stops where serving would start
        return made[-1]

    monkeypatch.setattr(server.waitress, "create_server", create_server)
    server.run_waitress(lambda environ, start_response: [], {**DEFAULTS, "HOST": "127.0.0.1", "PORT": 0})
    assert made[0].adj.send_bytes == 18000
    assert made[0].adj.recv_bytes == 65536
    # Requests that check a password have a lane of their own (kubewatch/sign_in_lane.py).
    assert made[0].adj.threads == DEFAULTS["THREADS"]
    lanes = made[0].task_dispatcher
    assert len(lanes.threads) == DEFAULTS["THREADS"]
    assert len(lanes.sign_ins.threads) == DEFAULTS["HASH_WORKERS"] + DEFAULTS["HASH_QUEUE"]


def test_objects_known_before_are_found_in_slices_once_the_memory_is_gone(app, org, query):
    agent = org.register()
    containers = [container(f"c{i}", f"n{i}") for i in range(1_200)]
    pods = [{"name": f"p{i}", "namespace": f"ns{i % 3}"} for i in range(1_200)]
    body = {"timestamp": "2026-06-16T10:00:00Z", "containers": containers, "pods": pods}
    assert org.push(agent, body).status_code == 200
    with app.app_context():
        push_objects.forget_agent(agent["agentId"])  # as after a restart: the next push looks every object up
    renamed = [container(f"c{i}", f"renamed{i}") for i in range(1_200)]
    assert org.push(agent, {**body, "timestamp": "2026-06-16T10:00:15Z", "containers": renamed}).status_code == 200
    assert query("SELECT COUNT(*), MAX(key), MIN(name) FROM containers")[0] == (1_200, 1_200, "renamed0")
    assert query("SELECT COUNT(*), MAX(key) FROM pods")[0] == (1_200, 1_200)


def test_a_push_that_fails_to_commit_leaves_nothing_remembered(org, monkeypatch, query):
    agent = org.register()
    # The push's last statement fails, after its containers were described in the transaction.
    monkeypatch.setattr(pushes, "_RECORD_PUSH", "INSERT INTO no_such_table VALUES ({0}, {0}, {0}, {0}, {0}, {0})")
    body = {"timestamp": "2026-06-16T10:00:00Z", "containers": [container("c1", "web")]}
    assert org.push(agent, body).status_code == engines.no_such_table()
    assert query("SELECT COUNT(*) FROM containers")[0][0] == 0  # rolled back
    monkeypatch.undo()
    assert org.push(agent, {**body, "timestamp": "2026-06-16T10:00:15Z"}).status_code == 200
    assert [tuple(row) for row in query("SELECT key, runtime_id, name FROM containers")] == [(1, "c1", "web")]


def test_pushes_write_on_one_kept_connection_replaced_after_a_failed_write_and_closed_with_the_engine(db_engine, tmp_path, monkeypatch):
    app = create_app(fresh_config(DATABASE_URL=engines.file_url(tmp_path / "kw.db")))
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    with app.app_context():
        engine = db.db.engine
    for second in range(3):
        assert org.push(agent, sample_push(f"2026-06-16T10:00:0{second}Z")).status_code == 200
    kept = db._write_connections[engine]
    assert engine.pool.checkedout() == 1  # the kept one; reads gave theirs back
    monkeypatch.setattr(pushes, "_RECORD_PUSH", "INSERT INTO no_such_table VALUES ({0}, {0}, {0}, {0}, {0}, {0})")
    assert org.push(agent, sample_push("2026-06-16T10:00:05Z")).status_code == engines.no_such_table()
    assert engine not in db._write_connections and engine.pool.checkedout() == 0
    monkeypatch.undo()
    assert org.push(agent, sample_push("2026-06-16T10:00:06Z")).status_code == 200
    renewed = db._write_connections[engine]
    assert renewed is not kept
    driver_connection = renewed.driver_connection
    engine.dispose()
    with pytest.raises(engine.dialect.loaded_dbapi.Error):  # closed, not left open in the disposed pool
        driver_connection.execute("SELECT 1")


def test_a_write_whose_rollback_fails_too_is_still_answered_and_the_next_push_is_stored(db_engine, tmp_path, monkeypatch):
    app = create_app(fresh_config(DATABASE_URL=engines.file_url(tmp_path / "kw.db")))
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    assert org.push(agent, sample_push("2026-06-16T10:00:00Z")).status_code == 200
    with app.app_context():
        app_engine = db.db.engine
        kept = db._write_connections[app_engine]

    def dropped():
        raise app_engine.dialect.loaded_dbapi.InterfaceError("the server dropped the connection")
    monkeypatch.setattr(kept, "rollback", dropped)  # as a driver whose server went away
    monkeypatch.setattr(pushes, "_RECORD_PUSH", "INSERT INTO no_such_table VALUES ({0}, {0}, {0}, {0}, {0}, {0})")
    response = org.push(agent, sample_push("2026-06-16T10:00:15Z"))
    assert response.status_code == engines.no_such_table()
    monkeypatch.undo()
    assert org.push(agent, sample_push("2026-06-16T10:00:30Z")).status_code == 200
    with app.app_context(), db.read() as conn:
        assert conn.exec_driver_sql("SELECT ts FROM pushes").all() == [(1781604000,), (1781604030,)]
        db.db.engine.dispose()
