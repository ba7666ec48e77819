"""Pushes sent gzip- or deflate-compressed: stored like plain ones, bounded as sent and as decompressed."""

import copy
import io
import gzip
import json
import re
import subprocess
import sys
import tracemalloc
import zlib

import pytest
import requests
from werkzeug.test import Client
from werkzeug.wrappers import Response

from conftest import Org, fresh_config, bearer, container, sample_push
from fake_kubernetes import FIXTURES, FakeApiServer
from kubewatch import create_app
from kubewatch import push_shortcut
from live_server import ROOT, LiveServer
from test_agent_cli import agent_env


def raw_deflate(data):
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


ENCODINGS = {"gzip": gzip.compress, "x-gzip": gzip.compress, "deflate": zlib.compress, "deflate (raw)": raw_deflate}


class Server:
    """An app and its agent, called over WSGI from the outermost middleware, counting what the shortcut hands on."""

    def __init__(self, **config):
        self.app = create_app(fresh_config(**config))
        self.org = Org(self.app, self.app.test_client(), "acme")
        self.agent = self.org.register()
        self.client = Client(self.app.wsgi_app, Response)
        shortcut = push_shortcut.installed(self.app)
        self.to_flask, flask_wsgi_app = [], shortcut.flask_wsgi_app

        def counted(environ, start_response):
            self.to_flask.append(environ["PATH_INFO"])
            return flask_wsgi_app(environ, start_response)
        shortcut.flask_wsgi_app = counted

    def push(self, data, encoding, **headers):
        return self.client.post(f"/api/v1/agents/{self.agent['agentId']}/push", data=data,
                                content_type="application/json",
                                headers={**bearer(self.agent["token"]), "Content-Encoding": encoding, **headers})

    def containers(self):
        return self.org.client.get(f"/api/v1/agents/{self.agent['agentId']}/containers",
                                   headers=bearer(self.org.viewer)).json

    def stored(self):
        from kubewatch.db import db
        from sqlalchemy import text
        with self.app.app_context(), db.engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM pushes")).scalar()


def body(containers=1):
    return json.dumps(sample_push(containers=[container(f"c{i:05d}", f"web-{i}") for i in range(containers)])).encode()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_compressed_push_is_stored_by_the_shortcut_as_a_plain_one_is(db_engine, encoding):
    server = Server()
    response = server.push(ENCODINGS[encoding](body(3)), encoding.split()[0])
    assert (response.status_code, response.get_json()) == (200, {"ok": True})
    assert server.to_flask == []
    assert [c["id"] for c in server.containers()] == ["c00000", "c00001", "c00002"]


def test_gzip_of_several_members_is_read_whole(db_engine):
    server = Server()
    data = body(2)
    response = server.push(gzip.compress(data[:40]) + gzip.compress(data[40:]), "gzip")
    assert response.status_code == 200
    assert len(server.containers()) == 2


def test_content_encoding_identity_or_in_capitals_is_taken(db_engine):
    server = Server()
    assert server.push(body(), "identity").status_code == 200
    assert server.push(gzip.compress(body().replace(b"10:00:00", b"10:00:15")), " GZIP ").status_code == 200
    assert server.stored() == 2


def test_a_push_larger_than_max_content_length_plain_is_stored_when_sent_compressed(db_engine):
    server = Server(MAX_CONTENT_LENGTH=64 * 1024)
    data = body(1000)  # about 230 KB of JSON
    assert len(data) > 64 * 1024
    assert server.push(data, "identity").status_code == 413
    response = server.push(gzip.compress(data), "gzip")
    assert response.status_code == 200
    assert server.to_flask == [f"/api/v1/agents/{server.agent['agentId']}/push"]  # only the plain one, refused
    assert len(server.containers()) == 1000


def test_a_compressed_body_over_max_content_length_is_413_naming_the_setting_and_stores_nothing(db_engine):
    server = Server(MAX_CONTENT_LENGTH=1024)
    response = server.push(gzip.compress(body(50), 0), "gzip")  # level 0: stored, not compressed
    assert response.status_code == 413
    assert response.get_json()["code"] == 413 and "max_content_length" in response.get_json()["message"]
    assert server.stored() == 0


def test_a_gzip_bomb_stops_at_max_decompressed_length_without_expanding(db_engine, monkeypatch):
    server = Server(MAX_DECOMPRESSED_LENGTH=1024 * 1024)
    bomb = gzip.compress(b"{" + b" " * (256 * 1024 * 1024), 9)  # 256 MB of spaces in about 250 KB
    assert len(bomb) < 1024 * 1024
    tracemalloc.start()
    try:
        response = server.push(bomb, "gzip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert "max_decompressed_length" in response.get_json()["message"]
    assert peak < 16 * 1024 * 1024  # the bound and the compressed body, never the 256 MB
    assert server.stored() == 0


def test_a_body_that_decompresses_to_exactly_the_bound_is_taken_and_one_byte_more_is_not(db_engine):
    data = body(20)
    server = Server(MAX_DECOMPRESSED_LENGTH=len(data))
    assert server.push(gzip.compress(data), "gzip").status_code == 200
    longer = data[:-1] + b" }"
    assert server.push(gzip.compress(longer.replace(b"10:00:00", b"10:00:15")), "gzip").status_code == 413


# mtime=0: each test's id holds its body, which pytest-xdist's workers must all collect alike.
@pytest.mark.parametrize("encoding, data, status", [
    ("br", b"\x1b\x00", 415),
    ("compress", b"\x1f\x9d", 415),
    ("gzip", b"not gzip at all", 400),
    ("gzip", gzip.compress(body(), mtime=0)[:-12], 400),  # truncated
    ("deflate", zlib.compress(body()) + b"trailing", 400),
    ("gzip", gzip.compress(body(), mtime=0) + b"garbage after", 400),
    ("gzip", gzip.compress(b"{not json", mtime=0), 400),
])
def test_a_body_that_is_not_what_its_encoding_says_is_refused_in_the_error_shape(db_engine, encoding, data, status):
    server = Server()
    response = server.push(data, encoding)
    assert response.status_code == status
    assert response.get_json()["code"] == status and response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert server.stored() == 0


def test_a_registration_may_be_compressed_too(db_engine):
    server = Server()
    response = server.client.post("/api/v1/agents/register", data=gzip.compress(b'{"name": "n", "hostname": "h"}'),
                                  content_type="application/json",
                                  headers={"X-API-Key": server.org.api_key, "Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.get_json()["agentId"].startswith("agent_")


def test_a_chunked_compressed_push_is_stored(db_engine):
    server = Server()
    data = gzip.compress(body(2))
    response = server.client.post(f"/api/v1/agents/{server.agent['agentId']}/push", input_stream=io.BytesIO(data),
                                  content_type="application/json",
                                  headers={**bearer(server.agent["token"]), "Content-Encoding": "gzip",
                                           "Transfer-Encoding": "chunked"})
    assert response.status_code == 200
    assert len(server.containers()) == 2


def _big_cluster(directory, pods, nodes=20):
    """Write a cluster of nodes and pods in the shapes of the recorded fixtures."""
    directory.mkdir()
    pod = json.loads((FIXTURES / "pods.json").read_text())["items"][0]
    node = json.loads((FIXTURES / "nodes.json").read_text())["items"][0]
    summary = json.loads((FIXTURES / "summary-node-a.json").read_text())
    names = [f"worker-{n:02d}" for n in range(nodes)]
    items, by_node = [], {name: [] for name in names}
    for index in range(pods):
        made = copy.deepcopy(pod)
        made["metadata"].update(name=f"job-{index:05d}-7f9c", namespace=f"team-{index % 40}",
                                uid=f"00000000-0000-4000-8000-{index:012d}")
        made["spec"]["nodeName"] = names[index % nodes]
        items.append(made)
        entry = copy.deepcopy(summary["pods"][0])
        entry["podRef"] = {"name": made["metadata"]["name"], "namespace": made["metadata"]["namespace"],
                           "uid": made["metadata"]["uid"]}
        by_node[names[index % nodes]].append(entry)
    (directory / "pods.json").write_text(json.dumps({"kind": "PodList", "apiVersion": "v1", "items": items}))
    node_items = []
    for name in names:
        made = copy.deepcopy(node)
        made["metadata"]["name"] = name
        made["status"]["capacity"]["pods"] = "1000"
        node_items.append(made)
        (directory / f"summary-{name}.json").write_text(json.dumps(
            {"node": {**summary["node"], "nodeName": name}, "pods": by_node[name]}))
    (directory / "nodes.json").write_text(json.dumps({"kind": "NodeList", "apiVersion": "v1", "items": node_items}))


@pytest.mark.slow
def test_a_cluster_of_10000_pods_is_pushed_whole_by_the_agent_with_the_defaults(db_engine, tmp_path):
    _big_cluster(tmp_path / "cluster", 10_000)
    fake = FakeApiServer(tmp_path / "cluster").start()
    server = LiveServer(tmp_path / "server", ADMIN_EMAIL="ops@example.com",
                        ADMIN_PASSWORD="a long admin password").start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "kubewatch_agent", "--once", "--platform", "kubernetes", "--name", "big"],
            cwd=ROOT, capture_output=True, text=True, timeout=120, env=agent_env(
                KUBEWATCH_URL=server.url, KUBEWATCH_API_KEY=server.first_run_key(),
                KUBECONFIG=str(fake.kubeconfig(tmp_path / "kubeconfig"))))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("pushed 0 containers, 20 nodes and 10000 pods as agent_")
        agent_id = re.search(r"as (agent_\w+)", done.stdout).group(1)
        token = requests.post(server.url + "/api/v1/auth/login", json={
            "email": "ops@example.com", "password": "a long admin password"}).json()["token"]
        detail = requests.get(f"{server.url}/api/v1/agents/{agent_id}", headers=bearer(token)).json()
        assert (detail["podCount"], detail["nodeCount"], detail["status"]) == (10_000, 20, "connected")
        pods = requests.get(f"{server.url}/api/v1/agents/{agent_id}/pods", headers=bearer(token)).json()
        assert len(pods) == 10_000 and all(p["cpuPercent"] is not None for p in pods)
        # No 413 from the server, to the agent or in its log; a log line's milliseconds (",413") are not one.
        assert not re.search(r"(?<![\w,.])413(?!\w)", server.output() + done.stderr)
    finally:
        server.stop()
        fake.stop()
