"""The push shortcut answers every request exactly as Flask alone would, and stores the same rows."""

import json

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

import engines
from conftest import TEST_CONFIG, Org, fresh_config, bearer, container, sample_push
from kubewatch import create_app, packing, push_shortcut
from kubewatch.db import db
from kubewatch.repository import pushes
from kubewatch.server_metrics import PushMeter
from stored import unpacked

LIMIT = TEST_CONFIG.get("MAX_CONTENT_LENGTH", 1024 * 1024)


class Twin:
    """An app with one organization and two agents, called through the shortcut or through Flask alone."""

    def __init__(self, shortcut, **config):
        self.app = create_app(fresh_config(**config))
        assert isinstance(self.app.wsgi_app, PushMeter)  # outermost, counting and timing pushes for /metrics
        shortcut_app = push_shortcut.installed(self.app)
        assert shortcut_app is not None
        self.org = Org(self.app, self.app.test_client(), "acme")
        self.agent, self.other, self.admin = self.org.register(), self.org.register(name="other"), self.org.admin
        self.client = Client(shortcut_app if shortcut else shortcut_app.flask_wsgi_app, Response)
        self.to_flask = []  # the paths of the requests the shortcut handed to Flask
        flask_wsgi_app = shortcut_app.flask_wsgi_app

        def counted(environ, start_response):
            self.to_flask.append(environ["PATH_INFO"])
            return flask_wsgi_app(environ, start_response)
        shortcut_app.flask_wsgi_app = counted

    def call(self, request):
        """Send request(agent, other agent, admin token); return status, headers and body, agent ids made alike."""
        method, path, kwargs = request(self.agent, self.other, self.admin)
        response = self.client.open(path, method=method, **kwargs)
        body = response.get_data(as_text=True)
        for agent, name in ((self.agent, "AGENT"), (self.other, "OTHER")):
            body = body.replace(agent["agentId"], name)
        return response.status_code, sorted(response.headers.items()), json.loads(body) if body else None

    def rows(self):
        """Return what the database holds of the agents, objects and samples, agent ids made alike."""
        names = {self.agent["agentId"]: "AGENT", self.other["agentId"]: "OTHER"}
        with self.app.app_context(), db.engine.connect() as conn:
            agents = [(names[row[0]], *row[1:]) for row in conn.exec_driver_sql(
                "SELECT id, last_push_ts, container_count, node_count, pod_count FROM agents ORDER BY name")]
            objects = [tuple(names.get(value, value) for value in row)
                       for table in ("containers", "nodes", "pods")
                       for row in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY agent_id, key")]
            pushed = conn.exec_driver_sql("SELECT agent_id, ts, containers, nodes, pods FROM pushes "
                                          "ORDER BY agent_id, ts").all()
        samples = [(names[row[0]], kind, unpacked([(row[1], row[2 + i])], kind))
                   for row in pushed for i, kind in enumerate(("containers", "nodes", "pods"))]
        return agents, objects, samples


def push(body=None, agent="agent", token=None, authorization=None, content_type="application/json", data=None,
         environ=None):
    """A push request: body as JSON (or data as it is), with the pushing agent's own token unless told otherwise."""
    def request(own, other, admin):
        pushing = own if agent == "agent" else other
        headers = bearer(token(own, other) if token else pushing["token"])
        if authorization is not None:
            headers = {"Authorization": authorization(pushing)} if authorization(pushing) else {}
        raw = data if data is not None else json.dumps(body if body is not None else sample_push())
        return "POST", f"/api/v1/agents/{pushing['agentId']}/push", {
            "data": raw, "headers": headers, "content_type": content_type, "environ_overrides": environ or {}}
    return request


def at(second, **fields):
    return sample_push(f"2026-06-16T10:00:{second:02d}Z", **fields)


def padded_to(length, body):
    """Return body as JSON, padded with spaces after it to exactly length bytes."""
    text = json.dumps(body)
    return text + " " * (length - len(text))


# name: (status, whether the shortcut answers it without Flask, request)
REQUESTS = {
    "valid": (200, True, push(at(0))),
    "the same again": (200, True, push(at(0))),
    "renamed and one more": (200, True, push(at(15, containers=[container("a1b2c3d4e5f6", "renamed"),
                                                                container("c2", "db")]))),
    "the other agent": (200, True, push(at(15), agent="other")),
    "lowercase bearer, spaces": (200, True, push(at(16), authorization=lambda a: f"bearer   {a['token']}  ")),
    "json with a charset": (200, True, push(at(17), content_type="application/json; charset=utf-8")),
    "exactly at the size limit": (200, True, push(data=padded_to(LIMIT, at(18)))),
    "a bad token": (401, False, push(at(19), token=lambda own, other: "kwa_not-a-token")),
    "no authorization": (401, False, push(at(19), authorization=lambda a: "")),
    "basic authorization": (401, False, push(at(19), authorization=lambda a: "Basic dXNlcjpwYXNz")),
    "another agent's token": (403, False, push(at(19), token=lambda own, other: other["token"])),
    "malformed json": (400, False, push(data='{"timestamp": ')),
    "not json by its type": (400, False, push(at(19), content_type="text/plain")),
    "a json suffix type": (200, False, push(at(20), content_type="application/vnd.kubewatch+json")),
    "an unknown field": (200, False, push(at(21, extra="kept out"))),
    "a negative cpu, not measured": (200, False, push(at(22, containers=[container("c3", "x", cpuPercent=-1)]))),
    "duplicate container ids": (400, False, push(at(23, containers=[container("c3", "x"), container("c3", "y")]))),
    # Refused for its date or past its agent's limits: answered by the shortcut through Flask's error
    # handlers, without reading a big body twice.
    "an hour ahead": (400, True, push(sample_push("2099-01-01T00:00:00Z"))),
    "older than the raw tier": (400, True, push(sample_push("1990-01-01T00:00:00Z"))),
    "a byte over the size limit": (413, False, push(data=padded_to(LIMIT + 1, at(24)))),
    "empty": (400, False, push(data="")),
    "a length that is not a number": (400, False, push(at(25), environ={"CONTENT_LENGTH": "²"})),
    "a body shorter than its length": (400, False, push(data=json.dumps(at(25)),
                                                        environ={"CONTENT_LENGTH": str(len(json.dumps(at(25))) + 9)})),
    "a get": (405, False, lambda own, other, admin: ("GET", f"/api/v1/agents/{own['agentId']}/push", {})),
    "a head": (405, False, lambda own, other, admin: ("HEAD", f"/api/v1/agents/{own['agentId']}/push", {})),
    "options": (200, False, lambda own, other, admin: ("OPTIONS", f"/api/v1/agents/{own['agentId']}/push", {})),
    "a trailing slash": (404, False, lambda own, other, admin: ("POST", f"/api/v1/agents/{own['agentId']}/push/", {
        "json": at(26), "headers": bearer(own["token"])})),
    "the other agent deleted": (204, False, lambda own, other, admin: (
        "DELETE", f"/api/v1/agents/{other['agentId']}", {"headers": bearer(admin)})),
    "a push of the deleted agent": (401, False, push(at(27), agent="other")),
    "last, valid": (200, True, push(at(30))),
}


def test_every_request_is_answered_and_stored_as_flask_alone_would(db_engine):
    through_shortcut, through_flask = Twin(shortcut=True), Twin(shortcut=False)
    for name, (status, answered_by_shortcut, request) in REQUESTS.items():
        handed_before = len(through_shortcut.to_flask)
        answer = through_shortcut.call(request)
        assert answer == through_flask.call(request), name
        assert answer[0] == status, name
        assert (len(through_shortcut.to_flask) == handed_before) == answered_by_shortcut, name
    assert through_shortcut.rows() == through_flask.rows()


def test_without_a_size_limit_a_large_push_is_stored_by_the_shortcut(db_engine):
    big = at(0, containers=[container(f"{i:012x}", f"svc-{i}") for i in range(5_000)])
    assert len(json.dumps(big)) > LIMIT
    twins = Twin(shortcut=True, MAX_CONTENT_LENGTH=None), Twin(shortcut=False, MAX_CONTENT_LENGTH=None)
    assert twins[0].call(push(big)) == twins[1].call(push(big))
    assert twins[0].to_flask == [] and twins[0].rows() == twins[1].rows()


def break_storing(monkeypatch, failure):
    if failure == "database":
        monkeypatch.setattr(pushes, "_RECORD_PUSH", "INSERT INTO no_such_table VALUES ({0}, {0}, {0}, {0}, {0}, {0})")
    else:
        def broken(*args):
            raise RuntimeError("packing broke")
        monkeypatch.setattr(packing, "pack", broken)


@pytest.mark.parametrize("failure", ["database", "unexpected"])
def test_an_error_while_storing_is_answered_by_flasks_handlers(monkeypatch, failure, db_engine):
    status = engines.no_such_table() if failure == "database" else 500
    through_shortcut, through_flask = Twin(shortcut=True), Twin(shortcut=False)
    break_storing(monkeypatch, failure)
    answer = through_shortcut.call(push(at(0)))
    assert answer == through_flask.call(push(at(0)))
    code, headers, body = answer
    assert (code, body["code"]) == (status, status)
    assert ("X-Content-Type-Options", "nosniff") in headers
    assert through_shortcut.to_flask == []  # answered by Flask's handlers, without Flask's request cycle
    assert through_shortcut.rows() == through_flask.rows()


def test_the_shortcut_stands_aside_and_says_so_when_flask_has_per_request_work_it_would_skip(db_engine, caplog):
    assert push_shortcut.work_the_shortcut_would_skip(create_app(fresh_config())) == []
    app = create_app(fresh_config(TRUSTED_HOSTS=["kubewatch.lan"]))
    assert push_shortcut.work_the_shortcut_would_skip(app) == ["TRUSTED_HOSTS"]
    assert push_shortcut.installed(app) is None
    assert "push shortcut off" in caplog.text and "TRUSTED_HOSTS" in caplog.text
