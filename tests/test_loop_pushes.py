"""A small push is served on waitress's loop thread, the one that read it, on real waitress on loopback;
a bigger push, a compressed one past the size and every other request go to the worker threads as before,
and requests sent back to back on one connection are answered in order."""

import gzip
import json
import socket
import threading

import requests
from sqlalchemy import text
from waitress.server import BaseWSGIServer, MultiSocketServer

from conftest import TEST_CONFIG, Org, bearer, container, sample_push
from kubewatch import create_app, ingest, packing, server, sign_in_lane
from kubewatch.db import db
from kubewatch.kinds import CONTAINERS
from polling import wait_until
from test_sign_in_lane import LOOP_THREAD, serving  # noqa: F401 (a fixture)


def recording(app):
    """Wrap app's WSGI app to note, per request, its method, path and the name of the thread that served it."""
    served, inner = [], app.wsgi_app

    def wsgi_app(environ, start_response):
        served.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], threading.current_thread().name))
        return inner(environ, start_response)

    app.wsgi_app = wsgi_app
    return served


def push_of(count, second=0):
    """Return a push body of count containers, its JSON bytes."""
    containers = [container(f"{n:012x}", f"app-{n}") for n in range(count)]
    return json.dumps(sample_push(f"2026-06-16T10:00:{second:02d}Z", containers)).encode()


def stored_pushes(app, agent_id):
    """Return the agent's stored pushes as (second of the minute, containers), oldest first."""
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(text("SELECT ts, containers FROM pushes WHERE agent_id = :agent ORDER BY ts"),
                            {"agent": agent_id}).all()
    return [(ts % 60, len(packing.unpack(CONTAINERS.metrics, bytes(blob)))) for ts, blob in rows]


def test_a_small_push_is_served_on_the_loop_thread_and_the_rest_on_the_workers(serving):
    app, url = serving
    org = Org(app, app.test_client(), "acme")
    agent, viewer = org.register(), org.viewer  # signed in before the recording starts
    served = recording(app)
    path = f"/api/v1/agents/{agent['agentId']}/push"
    small, larger = push_of(30, 1), push_of(100, 2)
    assert len(small) <= sign_in_lane.LOOP_PUSH_BYTES < len(larger) <= sign_in_lane.HEAVY_PUSH_BYTES
    headers = {**bearer(agent["token"]), "Content-Type": "application/json"}
    assert requests.post(url + path, data=small, headers=headers, timeout=10).json() == {"ok": True}
    assert requests.post(url + path, data=larger, headers=headers, timeout=10).json() == {"ok": True}
    compressed = gzip.compress(push_of(30, 3), mtime=0)  # as the agent sends it
    assert requests.post(url + path, data=compressed, headers={**headers, "Content-Encoding": "gzip"},
                         timeout=10).json() == {"ok": True}
    assert requests.get(url + "/api/v1/agents", headers=bearer(viewer), timeout=10).status_code == 200
    assert [(method, name) for method, _, name in served] == [
        ("POST", LOOP_THREAD), ("POST", "waitress-0"), ("POST", LOOP_THREAD), ("GET", "waitress-0")]
    assert stored_pushes(app, agent["agentId"]) == [(1, 30), (2, 100), (3, 30)]


def read_answer(stream):
    """Read one HTTP/1.1 response with a Content-Length from stream; return (status code, body)."""
    status = int(stream.readline().split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, stream.read(length)


def test_requests_sent_back_to_back_on_one_connection_are_answered_in_order_on_their_threads(serving):
    app, url = serving
    org = Org(app, app.test_client(), "acme")
    agent, viewer = org.register(), org.viewer  # signed in before the recording starts
    served = recording(app)
    host, port = url.removeprefix("http://").split(":")
    path = f"/api/v1/agents/{agent['agentId']}/push"

    def push(second, token=agent["token"]):
        body = push_of(second, second)
        return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

    listing = f"GET /api/v1/agents HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {viewer}\r\n\r\n".encode()
    # Two pushes, a read, then pushes queued by the worker that served the read (one with a wrong token,
    # refused by Flask): all in one write.
    sent = push(1) + push(2) + listing + push(3) + push(4, "not-a-token") + push(5)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(sent)
        stream = conn.makefile("rb")
        answers = [read_answer(stream) for _ in range(6)]
    assert [status for status, _ in answers] == [200, 200, 200, 200, 401, 200]
    assert [json.loads(body) for status, body in answers if status == 200 and body.startswith(b"{")] == [
        {"ok": True}] * 4
    assert [(method, name) for method, _, name in served] == [
        ("POST", LOOP_THREAD), ("POST", LOOP_THREAD), ("GET", "waitress-0"), ("POST", "waitress-0"),
        ("POST", "waitress-0"), ("POST", "waitress-0")]
    assert stored_pushes(app, agent["agentId"]) == [(1, 1), (2, 2), (3, 3), (5, 5)]


def test_a_compressed_push_past_the_loops_size_and_a_push_while_another_is_stored_go_to_the_workers(serving):
    app, url = serving
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    served = recording(app)
    path = f"/api/v1/agents/{agent['agentId']}/push"
    headers = {**bearer(agent["token"]), "Content-Type": "application/json"}
    # 1,200 containers: past HEAVY_PUSH_BYTES unfolded, described ahead in chunks, off the loop.
    unfolded = push_of(1200, 1)
    big = gzip.compress(unfolded, mtime=0)
    assert sign_in_lane.LOOP_COMPRESSED_BYTES < len(big) <= sign_in_lane.LOOP_PUSH_BYTES
    assert len(unfolded) > sign_in_lane.HEAVY_PUSH_BYTES
    assert requests.post(url + path, data=big, headers={**headers, "Content-Encoding": "gzip"},
                         timeout=30).json() == {"ok": True}
    answers = []
    with ingest.ONE_PUSH_AT_A_TIME:  # as while a big push is stored: the loop does not wait for it
        pushing = threading.Thread(target=lambda: answers.append(
            requests.post(url + path, data=push_of(30, 2), headers=headers, timeout=30)))
        pushing.start()
        wait_until(lambda: len(served) == 2, "the push to reach the app", 10)
    pushing.join(30)
    assert answers[0].json() == {"ok": True}
    assert [(method, name) for method, _, name in served] == [("POST", "waitress-0"), ("POST", "waitress-0")]
    assert stored_pushes(app, agent["agentId"]) == [(1, 1200), (2, 30)]


def test_every_listener_of_a_host_with_several_addresses_serves_pushes_on_its_loop(tmp_path, monkeypatch):
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{tmp_path / 'kubewatch.db'}"))
    real = server.waitress_options

    def two_addresses(config):  # as for a host such as localhost that resolves to 127.0.0.1 and ::1
        options = {name: value for name, value in real(config).items() if name not in ("host", "port")}
        return {**options, "listen": "127.0.0.1:0 127.0.0.1:0"}

    monkeypatch.setattr(server, "waitress_options", two_addresses)
    made = server.create_server(app, app.config)
    try:
        assert isinstance(made, MultiSocketServer)
        listeners = [listener for listener in made.map.values() if isinstance(listener, BaseWSGIServer)]
        assert len(listeners) == 2 and all(listener.channel_class is server.LoopChannel for listener in listeners)
    finally:
        made.close()
        with app.app_context():
            db.engine.dispose()
