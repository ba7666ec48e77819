"""A fake Docker Engine on a Unix socket, answering from recorded JSON in tests/fixtures/docker."""

import copy
import json
import re
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "docker"
_VERSIONED = re.compile(r"^/v\d+\.\d+(/.*)$")
_CONTAINER = re.compile(r"^/containers/([0-9a-f]+)/(json|stats)$")


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 128  # dockerd listens with the system's backlog; 5 would refuse concurrent stats




class FakeEngine:
    """Serve /version, /containers/json, /containers/{id}/json and /containers/{id}/stats like dockerd.

    A container listed without an inspect file was removed since the list (404 for both);
    one with an inspect file and no stats file stopped since the list (stats 409).
    """

    def __init__(self, socket_path, fixtures=FIXTURES, stats_delay=0.0):
        self.socket_path = str(socket_path)
        self.listed = json.loads((fixtures / "containers.json").read_text())
        self.version = json.loads((fixtures / "version.json").read_text())
        self.inspected = {path.stem: json.loads(path.read_text()) for path in (fixtures / "containers").glob("*.json")}
        self.stats = {path.stem: json.loads(path.read_text()) for path in (fixtures / "stats").glob("*.json")}
        self.stats_delay = stats_delay
        self.requests = []
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        self._server = None
        self._connections = set()

    def add_copies(self, name, count):
        """List count more containers answering like name, with ids and names of their own."""
        for index in range(count):
            copy_name = f"{name}-{index}"
            summary = copy.deepcopy(next(c for c in self.listed if c["Names"] == ["/" + name]))
            summary["Id"], summary["Names"] = f"{index + 1:04x}" + summary["Id"][4:], ["/" + copy_name]
            self.listed.append(summary)
            self.inspected[copy_name] = dict(self.inspected[name], Id=summary["Id"], Name="/" + copy_name)
            self.stats[copy_name] = dict(self.stats[name], id=summary["Id"], name="/" + copy_name)

    def start(self):
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with engine._lock:
                    engine._connections.add(self.connection)

            def finish(self):
                super().finish()
                with engine._lock:
                    engine._connections.discard(self.connection)

            def do_GET(self):
                status, body = engine.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def address_string(self):
                return "docker-client"  # a Unix socket's peer has no address

            def log_message(self, *args):
                pass

        self._server = _UnixHTTPServer(self.socket_path, Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self):
        """Stop listening and cut the connections kept alive, as a dying Engine would."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            for connection in self._connections:
                connection.shutdown(socket.SHUT_RDWR)

    def answer(self, target):
        """Return (status, JSON body) for a GET of target, as the Engine API documents them."""
        url = urlsplit(target)
        path = _VERSIONED.sub(r"\1", url.path)
        self.requests.append(path)
        if path == "/version":
            return 200, self.version
        if path == "/containers/json":
            show_all = parse_qs(url.query).get("all", ["0"])[0] in ("1", "true", "True")
            return 200, [c for c in self.listed if show_all or c["State"] == "running"]
        found = _CONTAINER.match(path)
        if not found:
            return 404, {"message": "page not found"}
        name = self._name(found.group(1))
        if name not in self.inspected:
            return 404, {"message": f"No such container: {found.group(1)}"}
        if found.group(2) == "json":
            return 200, self.inspected[name]
        if name not in self.stats:
            return 409, {"message": f"container {found.group(1)} is not running"}
        return 200, self._slow_stats(name)

    def _slow_stats(self, name):
        # Like dockerd, a one-off stats answer takes a moment: it waits for a second CPU reading.
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.stats_delay)
        with self._lock:
            self.in_flight -= 1
        return self.stats[name]

    def _name(self, container_id):
        for summary in self.listed:
            if summary["Id"].startswith(container_id):
                return summary["Names"][0].lstrip("/")
        return None
