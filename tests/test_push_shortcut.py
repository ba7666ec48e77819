"""The push shortcut answers every request exactly as Flask alone would, and stores the same rows."""

import json

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from conftest import TEST_CONFIG, Org, bearer, container, sample_push
from kubewatch import create_app, packing
from kubewatch.api import push_shortcut
from kubewatch.db import db
from kubewatch.repository import pushes
from stored import unpacked


class Twin:
    """An app with one organization and two agents, called through the shortcut or through Flask alone."""

    def __init__(self, shortcut):
        self.app = create_app(dict(TEST_CONFIG))
        assert isinstance(self.app.wsgi_app, push_shortcut.PushShortcut)
        self.org = Org(self.app, self.app.test_client(), "acme")
        self.agent, self.other = self.org.register(), self.org.register(name="other")
        wsgi = self.app.wsgi_app if shortcut else self.app.wsgi_app.flask_wsgi_app
        self.client = Client(wsgi, Response)

    def call(self, request):
        """Send request(agent, other agent, admin token) and return what comes back, agent ids made alike."""
        method, path, kwargs = request(self.agent, self.other, self.org.admin)
        response = self.client.open(path, method=method, **kwargs)
        body = response.get_data(as_text=True)
        for agent, name in ((self.agent, "AGENT"), (self.other, "OTHER")):
            body = body.replace(agent["agentId"], name)
        return response.status_code, sorted(response.headers.items()), json.loads(body) if body else None

    def rows(self):
        """Return what the database holds of the pushes, objects and agents, ids made alike."""
        names = {self.agent["agentId"]: "AGENT", self.other["agentId"]: "OTHER"}
        with self.app.app_context(), db.engine.connect() as conn:
            agents = [(names[row[0]], *row[1:]) for row in conn.exec_driver_sql(
                "SELECT id, last_push_ts, container_count, node_count, pod_count FROM agents ORDER BY name")]
            objects = [tuple(row) for table in ("containers", "nodes", "pods") for row in conn.exec_driver_sql(
                f"SELECT * FROM {table} ORDER BY agent_id, key")]
            objects = [tuple(names.get(value, value) for value in row) for row in objects]
            pushed = conn.exec_driver_sql("SELECT agent_id, ts, containers, nodes, pods FROM pushes "
                                          "ORDER BY agent_id, ts").all()
        samples = [(names[row[0]], kind, unpacked([row[1:2] + (row[2 + i],)], kind))
                   for row in pushed for i, kind in enumerate(("containers", "nodes", "pods"))]
        return agents, objects, samples


def push(body=None, token=None, content_type="application/json", data=None, agent="agent"):
    """A push request: the body as JSON (or data as it is) with the agent's own token unless told otherwise."""
    def request(own, other, admin):
        pushing = own if agent == "agent" else other
        headers = bearer(pushing["token"] if token is None else token(own, other))
        raw = data if data is not None else json.dumps(body if body is not None else sample_push())
        return "POST", f"/api/v1/agents/{pushing['agentId']}/push", {
            "data": raw, "headers": headers, "content_type": content_type}
    return request


def lowercase_bearer(body):
    """A push whose Authorization header says "bearer" in lower case, with extra spaces."""
    def request(own, other, admin):
        return "POST", f"/api/v1/agents/{own['agentId']}/push", {
            "json": body, "headers": {"Authorization": f"bearer   {own['token']}  "}}
    return request


def at(second, **fields):
    return sample_push(f"2026-06-16T10:00:{second:02d}Z", **fields)


REQUESTS = {
    "valid": (200, push(at(0))),
    "the same again": (200, push(at(0))),
    "renamed and one more": (200, push(at(15, containers=[container("a1b2c3d4e5f6", "renamed"), container("c2", "db")]))),
    "the other agent": (200, push(at(15), agent="other")),
    "lowercase bearer, spaces": (200, lowercase_bearer(at(16))),
    "a bad token": (401, push(at(17), token=lambda own, other: "kwa_not-a-token")),
    "another agent's token": (403, push(at(18), token=lambda own, other: other["token"])),
    "malformed json": (400, push(data='{"timestamp": ')),
    "not json by its type": (400, push(at(19), content_type="text/plain")),
    "a json suffix type": (200, push(at(20), content_type="application/vnd.kubewatch+json")),
    "json with a charset": (200, push(at(21), content_type="application/json; charset=utf-8")),
    "an unknown field": (200, push(at(22, extra="kept out"))),
    "a negative cpu": (400, push(at(23, containers=[container("c3", "x", cpuPercent=-1)]))),
    "duplicate container ids": (400, push(at(24, containers=[container("c3", "x"), container("c3", "y")]))),
    "an hour ahead": (400, push(sample_push("2099-01-01T00:00:00Z"))),
    "older than the raw tier": (400, push(sample_push("1990-01-01T00:00:00Z"))),
    "over the size limit": (413, push(data=json.dumps({**at(25), "pad": "x" * (1024 * 1024)}))),
    "empty": (400, push(data="")),
    "a get": (405, lambda own, other, admin: ("GET", f"/api/v1/agents/{own['agentId']}/push", {})),
    "a trailing slash": (404, lambda own, other, admin: ("POST", f"/api/v1/agents/{own['agentId']}/push/", {
        "json": at(26), "headers": bearer(own["token"])})),
    "the other agent deleted": (204, lambda own, other, admin: ("DELETE", f"/api/v1/agents/{other['agentId']}", {
        "headers": bearer(admin)})),
    "a push of the deleted agent": (401, push(at(27), agent="other")),
    "last, valid": (200, push(at(30))),
}


def test_every_request_is_answered_and_stored_as_flask_alone_would():
    through_shortcut, through_flask = Twin(shortcut=True), Twin(shortcut=False)
    for name, (status, request) in REQUESTS.items():
        answers = through_shortcut.call(request), through_flask.call(request)
        assert answers[0] == answers[1], name
        assert answers[0][0] == status, name
    assert through_shortcut.rows() == through_flask.rows()


@pytest.mark.parametrize("failure", ["database", "unexpected"])
def test_an_error_while_storing_is_answered_by_flasks_handlers(monkeypatch, failure):
    twins = Twin(shortcut=True), Twin(shortcut=False)
    if failure == "database":
        monkeypatch.setattr(pushes, "_RECORD_PUSH", "INSERT INTO no_such_table VALUES ({0}, {0}, {0}, {0}, {0}, {0})")
    else:
        def broken(*args):
            raise RuntimeError("packing broke")
        monkeypatch.setattr(packing, "pack", broken)
    answers = [twin.call(push(at(0))) for twin in twins]
    assert answers[0] == answers[1]
    status, headers, body = answers[0]
    assert status == (503 if failure == "database" else 500)
    assert ("Retry-After", "5") in headers if failure == "database" else body["message"].startswith("The server")
    assert ("X-Content-Type-Options", "nosniff") in headers
    assert [twin.rows() for twin in twins][0] == twins[1].rows()


def test_valid_pushes_never_reach_the_view_and_the_rest_do():
    twin = Twin(shortcut=True)

    def view(**kwargs):
        raise AssertionError("the push view was called")
    twin.app.view_functions["agents.push"] = view
    assert twin.call(push(at(0)))[0] == 200
    assert twin.call(push(data="not json"))[0] == 500  # handed to Flask, whose view is now broken
