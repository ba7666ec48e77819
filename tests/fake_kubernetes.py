"""A fake Kubernetes API server on a loopback port, answering from recorded JSON in tests/fixtures/kubernetes."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kubernetes"
TOKEN = "fake-service-account-token"
_SUMMARY = re.compile(r"^/api/v1/nodes/([^/]+)/proxy/stats/summary$")
_NAMESPACE = re.compile(r"^/api/v1/namespaces/([^/]+)$")


def status(code, reason, message):
    """Return the API server's error body, a v1 Status."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


class FakeApiServer:
    """Serve the node list, the pod list, and the kubelet summaries through the node proxy.

    A node without a summary file stands for a kubelet that does not answer (503 from the proxy).
    """

    def __init__(self, fixtures=FIXTURES):
        self.fixtures = fixtures
        self.requests = []
        self.forbidden_namespaces = False
        self._server = None

    def start(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                # The client sends the proxied path as stats%2Fsummary; the API server (Go) routes on it decoded.
                code, body = api.answer(unquote(urlsplit(self.path).path), self.headers.get("Authorization"))
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, path, authorization):
        """Return (status, JSON body) for a GET of path."""
        self.requests.append((path, authorization))
        if authorization != f"Bearer {TOKEN}":
            return 401, status(401, "Unauthorized", "Unauthorized")
        if path == "/api/v1/nodes":
            return 200, self._load("nodes.json")
        if path == "/api/v1/pods":
            return 200, self._load("pods.json")
        namespace = _NAMESPACE.match(path)
        if namespace and (self.fixtures / f"namespace-{namespace.group(1)}.json").exists():
            if self.forbidden_namespaces:  # a role without get on namespaces
                return 403, status(403, "Forbidden", f'namespaces "{namespace.group(1)}" is forbidden: User '
                                                     '"system:serviceaccount:kubewatch:kubewatch-agent" cannot '
                                                     'get resource "namespaces" in API group "" at the cluster scope')
            return 200, self._load(f"namespace-{namespace.group(1)}.json")
        found = _SUMMARY.match(path)
        if found:
            summary = self.fixtures / f"summary-{found.group(1)}.json"
            if summary.exists():
                return 200, json.loads(summary.read_text())
            return 503, status(503, "ServiceUnavailable", "error trying to reach service: dial tcp "
                                                          "192.168.1.11:10250: connect: connection refused")
        return 404, status(404, "NotFound", "the server could not find the requested resource")

    def _load(self, name):
        return json.loads((self.fixtures / name).read_text())

    def kubeconfig(self, path, server=None):
        """Write a kubeconfig that points at server (default: this one) with the token; return path."""
        path.write_text(json.dumps({  # JSON is YAML: the kubeconfig loader reads it as is
            "apiVersion": "v1", "kind": "Config", "current-context": "fake", "preferences": {},
            "clusters": [{"name": "fake", "cluster": {"server": server or self.url}}],
            "users": [{"name": "agent", "user": {"token": TOKEN}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "agent"}}]}))
        return path
