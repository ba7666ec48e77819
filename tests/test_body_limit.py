"""A body over max_content_length is refused by waitress before it is read, in the API's error shape."""

import glob
import os
import socket
import time

import pytest
import requests

from live_server import LiveServer

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(db_engine, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("limit"), MAX_CONTENT_LENGTH=LIMIT).start()
    yield server
    server.stop()


def raw_request(server, head, body=b"", read_after=0.5):
    """Send head and body on one connection; return everything answered within read_after seconds of sending."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head + body)
        sock.settimeout(read_after)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


def open_files_of(pid):
    """Return the files the server has open, the deleted temporary ones included."""
    found = []
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            found.append(os.readlink(fd))
        except OSError:
            continue
    return found


def test_a_declared_300_mib_body_is_413_before_a_byte_of_it_is_sent(server):
    head = (b"POST /api/v1/agents/agent_00000000/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(300 * 2**20).encode() + b"\r\n\r\n")
    answer = raw_request(server, head)  # the body is never sent: the answer comes anyway
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json" in headers
    assert body.startswith(b'{"code": 413, "status": "Request Entity Too Large", "message": "The body is larger than '
                           b'max_content_length (65536 bytes)."}')


def test_the_server_spools_nothing_while_a_large_body_arrives(server):
    head = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(300 * 2**20).encode() + b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        try:
            for _ in range(40):  # 40 MiB offered; the server closes once it has answered
                sock.sendall(b"x" * 2**20)
        except OSError:
            pass
        # waitress spools a large body to a TemporaryFile: open, and already deleted.
        temporary = [f for f in open_files_of(server.process.pid) if f.endswith("(deleted)")]
    assert temporary == []


@pytest.mark.parametrize("size, status", [(LIMIT, 400), (LIMIT + 1, 413)])
def test_the_limit_is_max_content_length_itself(server, size, status):
    response = requests.post(server.url + "/api/v1/auth/login", data=b" " * size,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == status


def test_a_chunked_body_over_the_limit_is_413(server):
    def chunks():
        for _ in range(4):
            yield b" " * (LIMIT // 2)
            time.sleep(0.01)
    response = requests.post(server.url + "/api/v1/auth/login", data=chunks(),
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["message"].startswith("The body is larger than max_content_length")


def test_the_server_still_answers_after_refusing(server):
    assert requests.get(server.url + "/healthz").status_code == 200
