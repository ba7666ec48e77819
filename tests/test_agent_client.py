"""The agent's HTTP client: what each kind of answer becomes, on one keep-alive connection."""

import gzip
import json
import logging
import threading
import time
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kubewatch_agent.client import Refused, Registration, ServerClient, Unreachable
from live_server import free_port

REGISTERED = {"agentId": "agent_7f3c9b2a", "token": "kwa_secret", "tokenExpiresIn": 3600, "pushIntervalSeconds": 15}


class ScriptedServer:
    """Answer each POST with the next (status, headers, body) of a script; remember requests and connections."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []
        self.connections = set()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                scripted.requests.append((self.path, dict(self.headers), json.loads(body)))
                scripted.connections.add(self.client_address)
                status, headers, data = scripted.answers.pop(0)
                data = data if isinstance(data, bytes) else json.dumps(data).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    servers = []

    def start(*answers):
        servers.append(ScriptedServer(*answers))
        return servers[-1], ServerClient(servers[-1].url + "/", "kw_live_key")

    yield start
    for server in servers:
        server.close()


def test_register_then_push_send_the_documented_headers_on_one_connection(scripted):
    server, client = scripted((200, {}, REGISTERED), (200, {}, {"ok": True}))
    registration = client.register({"name": "prod-web", "hostname": "prod-web-01"})
    client.push(registration, {"timestamp": "2026-06-16T10:00:00Z", "containers": []})
    client.close()
    assert registration == Registration("agent_7f3c9b2a", "kwa_secret", 3600, 15)
    (register_path, register_headers, register_body), (push_path, push_headers, _) = server.requests
    assert (register_path, register_headers["X-API-Key"]) == ("/api/v1/agents/register", "kw_live_key")
    assert register_body == {"name": "prod-web", "hostname": "prod-web-01"}
    assert (push_path, push_headers["Authorization"]) == ("/api/v1/agents/agent_7f3c9b2a/push", "Bearer kwa_secret")
    assert push_headers["User-Agent"].startswith("kubewatch-agent/")
    # When it was sent, by the agent's clock: the server measures the clock's skew from it.
    assert abs(parsedate_to_datetime(push_headers["Date"]).timestamp() - time.time()) < 5
    assert len(server.connections) == 1


def test_a_registration_never_shows_its_token_when_printed():
    registration = Registration("agent_7f3c9b2a", "kwa_secret", 3600, 15)
    assert "kwa_secret" not in repr(registration) and "kwa_secret" not in f"{registration}"


def test_a_4xx_is_refused_with_the_server_s_message_on_one_line(scripted):
    errors = {"json": {"containers": {"0": {"cpuPercent": ["Must be greater than or equal to 0."]}}}}
    _, client = scripted((400, {}, {"code": 400, "status": "Bad Request", "message": "The request is not valid.",
                                    "errors": errors}))
    with pytest.raises(Refused) as refused:
        client.push(Registration("agent_1", "kwa_t", 1, 1), {"timestamp": "x", "containers": []})
    client.close()
    assert refused.value.status == 400
    assert str(refused.value) == ("push refused (400): The request is not valid. "
                                  + json.dumps(errors, separators=(",", ":")))


def test_a_busy_server_is_unreachable_for_now_with_its_retry_after(scripted):
    _, client = scripted((503, {"Retry-After": "7"}, {"code": 503, "message": "The database is busy."}))
    with pytest.raises(Unreachable) as unreachable:
        client.register({"name": "n", "hostname": "h"})
    client.close()
    assert unreachable.value.retry_after == 7.0
    assert str(unreachable.value) == "the server answered 503 to the registration: The database is busy"


def test_something_else_than_kubewatch_answering_is_said_so(scripted):
    server, client = scripted((200, {"Content-Type": "text/html"}, b"<html>router login</html>"))
    with pytest.raises(Unreachable) as unreachable:
        client.register({"name": "n", "hostname": "h"})
    client.close()
    assert str(unreachable.value) == f"the answer to the registration is not JSON: is {server.url} a kubewatch server?"


def test_a_json_answer_that_is_not_a_registration_is_said_so(scripted):
    server, client = scripted((200, {}, {"status": "ok"}))
    with pytest.raises(Unreachable) as unreachable:
        client.register({"name": "n", "hostname": "h"})
    client.close()
    assert str(unreachable.value) == f"the answer to the registration is not one: is {server.url} a kubewatch server?"


def test_no_server_listening_is_unreachable_in_one_line():
    url = f"http://127.0.0.1:{free_port()}"
    client = ServerClient(url, "kw_live_key")
    with pytest.raises(Unreachable) as unreachable:
        client.register({"name": "n", "hostname": "h"})
    client.close()
    assert str(unreachable.value) == f"cannot reach the server at {url}: Connection refused"


PUSH = {"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": f"c{i}", "name": f"web-{i}"} for i in range(200)]}


def test_pushes_are_sent_gzip_compressed_and_registrations_as_they_are(scripted):
    server, client = scripted((200, {}, REGISTERED), (200, {}, {"ok": True}))
    client.push(client.register({"name": "n", "hostname": "h"}), PUSH)
    (_, register_headers, _), (_, push_headers, pushed) = server.requests
    assert "Content-Encoding" not in register_headers
    assert push_headers["Content-Encoding"] == "gzip"
    assert pushed == PUSH
    assert int(push_headers["Content-Length"]) * 5 < len(json.dumps(PUSH))  # far smaller than the JSON


def test_an_older_server_that_cannot_read_gzip_gets_the_push_again_and_later_ones_plain(scripted, caplog):
    # What a server from before compressed pushes answers: the compressed bytes are not JSON.
    refused = {"code": 400, "message": "The request is not valid: see errors for each field.",
               "errors": {"json": ["Invalid JSON body."]}}
    server, client = scripted((200, {}, REGISTERED), (400, {}, refused), (200, {}, {"ok": True}),
                              (200, {}, {"ok": True}))
    registration = client.register({"name": "n", "hostname": "h"})
    with caplog.at_level(logging.WARNING, "kubewatch_agent"):
        client.push(registration, PUSH)
        client.push(registration, PUSH)
    encodings = [headers.get("Content-Encoding") for _, headers, _ in server.requests[1:]]
    assert encodings == ["gzip", None, None]
    assert [body for _, _, body in server.requests[1:]] == [PUSH] * 3
    assert caplog.text.count("uncompressed from now on") == 1


def test_a_body_refused_field_by_field_is_refused_once_and_compression_stays_on(scripted):
    refused = {"code": 400, "message": "The request is not valid.", "errors": {"json": {"timestamp": ["bad"]}}}
    server, client = scripted((200, {}, REGISTERED), (400, {}, refused), (200, {}, {"ok": True}))
    registration = client.register({"name": "n", "hostname": "h"})
    with pytest.raises(Refused) as raised:
        client.push(registration, PUSH)
    assert raised.value.status == 400
    client.push(registration, PUSH)
    assert server.requests[-1][1]["Content-Encoding"] == "gzip"


@pytest.mark.parametrize("message, setting", [
    ("The request body is larger than the 1048576 bytes this server takes (max_content_length).",
     "max_content_length (KUBEWATCH_MAX_CONTENT_LENGTH)"),
    ("The push decompresses to more than the 67108864 bytes this server takes (max_decompressed_length).",
     "max_decompressed_length (KUBEWATCH_MAX_DECOMPRESSED_LENGTH)"),
])
def test_a_push_refused_as_too_large_names_the_server_setting_to_raise(scripted, message, setting):
    server, client = scripted((200, {}, REGISTERED), (413, {}, {"code": 413, "message": message}))
    with pytest.raises(Refused) as raised:
        client.push(client.register({"name": "n", "hostname": "h"}), PUSH)
    assert raised.value.status == 413
    assert f"raise the server's {setting}" in str(raised.value)
    assert f"this push is {len(json.dumps(PUSH, separators=(',', ':')))} bytes" in str(raised.value)
