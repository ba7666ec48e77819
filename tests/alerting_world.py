"""What the alerting tests stand on: a real HTTP receiver on loopback and an organization with an agent."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import bearer
from kubewatch.alerting.courier import Courier
from kubewatch.alerting.evaluate import Evaluator


class Receiver:
    """An HTTP server on a free loopback port that keeps every JSON body posted to it, by path.

    A path in `hang` is answered only once released (or the server stops); one in `fail` gets a 500.
    """

    def __init__(self):
        self.received, self.hang, self.fail = [], set(), set()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                path = self.path.strip("/")
                if path in receiver.hang:
                    receiver.released.wait(30)
                if path in receiver.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.received.append((path, time.monotonic(), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return f"json://127.0.0.1:{self.port}/{path}"

    def titles(self, path=None):
        return [body["title"] for where, _, body in self.received if path is None or where == path]

    def messages(self, path=None):
        return [body for where, _, body in self.received if path is None or where == path]

    def stop(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class World:
    """An organization's admin setting up alerting, its agent pushing, and the evaluator run at chosen times."""

    def __init__(self, app, org, receiver):
        self.app, self.org, self.receiver = app, org, receiver
        self.client = org.client
        self.evaluator = Evaluator()
        self.courier = Courier(app)
        self.agent = org.register()

    def api(self, method, path, token=None, **kwargs):
        return self.client.open(path, method=method, headers=bearer(token or self.org.admin), **kwargs)

    def channel(self, path="hook", name=None):
        response = self.api("POST", "/api/v1/notification-channels", json={"name": name or path,
                                                                            "url": self.receiver.url(path)})
        assert response.status_code == 201, response.json
        return response.json["id"]

    def rule(self, **fields):
        response = self.api("POST", "/api/v1/alert-rules", json={"name": fields.pop("name", fields["kind"]), **fields})
        assert response.status_code == 201, response.json
        return response.json

    def push(self, ts, containers=(), nodes=(), pods=(), agent=None):
        body = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)), "containers": list(containers),
                "nodes": list(nodes), "pods": list(pods)}
        response = self.org.push(agent or self.agent, body)
        assert response.status_code == 200, response.json

    def evaluate(self, now):
        """Run the evaluator at now, then deliver what it queued; return its Outcome."""
        with self.app.app_context():
            outcome = self.evaluator.run(self.app.config, int(now))
        self.deliver()
        return outcome

    def deliver(self):
        self.courier.dispatch()
        assert self.courier.wait(30)

    def restart(self):
        """Forget everything the evaluator and courier kept in memory, as a new server process would."""
        self.evaluator, self.courier = Evaluator(), Courier(self.app)

    def alerts(self, state=None, token=None):
        return self.api("GET", "/api/v1/alerts" + (f"?state={state}" if state else ""), token).json
