"""One JSON error shape for every 4xx and 5xx, never an HTML page or a traceback."""

import sqlite3

import pytest

from engines import sqlite_only
from conftest import TEST_CONFIG, fresh_config, bearer, sample_push
from kubewatch import create_app
from kubewatch.db import db


def assert_error_shape(response, code):
    assert response.status_code == code
    assert response.content_type == "application/json"
    body = response.json
    assert set(body) <= {"code", "status", "message", "errors"}
    assert body["code"] == code and body["status"] and body["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert "<html" not in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("method, path, code", [
    ("get", "/no/such/page", 404),
    ("get", "/api/v1/agents/agent_1234abcd/push", 405),
    ("put", "/api/v1/agents", 405),
])
def test_routing_errors_have_the_error_shape(client, method, path, code):
    response = getattr(client, method)(path)
    assert_error_shape(response, code)


def allowed(response):
    return {method.strip() for method in response.headers["Allow"].split(",")}


def test_405_says_which_methods_are_allowed(client):
    response = client.put("/api/v1/agents/register")
    assert_error_shape(response, 405)
    # POST registers; the path also reads as an agent's, which is read (GET) and deleted.
    assert allowed(response) == {"POST", "GET", "HEAD", "DELETE", "OPTIONS"}
    response = client.post("/api/v1/agents/agent_1234abcd")
    assert_error_shape(response, 405)
    assert allowed(response) == {"GET", "HEAD", "DELETE", "OPTIONS"}


def test_malformed_json_is_400(client, org):
    response = client.post("/api/v1/agents/register", data="{nope", content_type="application/json",
                           headers={"X-API-Key": org.api_key})
    assert_error_shape(response, 400)
    assert response.json["errors"] == {"json": ["Invalid JSON body."]}


def test_a_body_over_the_limit_is_413(app, client, org):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    agent = org.register()
    body = sample_push(containers=[{"id": f"c{i}", "name": "x" * 50} for i in range(40)])
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", json=body, headers=bearer(agent["token"]))
    assert_error_shape(response, 413)


def test_the_default_body_limit_is_one_mebibyte(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_an_unexpected_exception_is_a_500_without_a_traceback(db_engine, caplog):
    app = create_app(fresh_config())

    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", view_func=boom)
    response = app.test_client().get("/boom")
    assert_error_shape(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text  # the operator still sees it in the log
    with app.app_context():
        db.engine.dispose()


@sqlite_only("a SQLite file locked by another process; PostgreSQL locks rows, and a writer waits")
def test_a_locked_database_is_503_with_retry_after_and_nothing_half_stored(tmp_path):
    path = tmp_path / "kw.db"
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{path}"))
    from conftest import Org
    client = app.test_client()
    org = Org(app, client, "acme")
    agent = org.register()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = org.push(agent)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_error_shape(response, 503)
    assert response.headers["Retry-After"] == "5"
    assert org.push(agent).status_code == 200  # once the lock is gone, pushes succeed again
    with app.app_context():
        db.engine.dispose()


def test_every_response_says_nosniff(client):
    assert client.get("/healthz").headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/nope").headers["X-Content-Type-Options"] == "nosniff"
