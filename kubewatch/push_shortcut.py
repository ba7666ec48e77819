"""A shortcut past Flask's request cycle for the request agents send most: a push the view would store.

Measured with bench/ingest.py, Flask's cycle around the push view (routing, the request and
response objects, the decorators) cost about as much as storing the push. The shortcut takes a
request only when it is a POST to /api/v1/agents/<id>/push with an application/json body within
MAX_CONTENT_LENGTH and that agent's valid token, a body the fast loader takes, and a timestamp
the clock allows; it stores it through kubewatch.ingest, as the view does, and answers what the
view answers. A push over its agent's limits (push_limits.py) is refused as the view refuses it,
through Flask's error handlers, without reading a big body twice. Every other request, and every
push it does not store, goes to Flask with its body, so every other refusal is Flask's own answer;
an error while storing is answered by Flask's error handlers.
"""

import io
import logging
import re

from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_content_length

from kubewatch import push_limits
from kubewatch.api import access, agents, internals
from kubewatch.api.push_validation import fast_load
from kubewatch.decompression import DECOMPRESSED
from kubewatch.ingest import receive_push

log = logging.getLogger("kubewatch.push_shortcut")

# Agent ids are "agent_" and hex; anything else (percent-decoded text, a trailing slash) is Flask's to route.
PUSH_PATH = re.compile(r"/api/v1/agents/([A-Za-z0-9_-]+)/push")


def init_app(app):
    """Put the shortcut in front of Flask's WSGI app, unless Flask does per-request work it would skip.

    Call it last in the factory, once every hook is registered.
    """
    skipped = work_the_shortcut_would_skip(app)
    if skipped:
        log.warning("push shortcut off, since Flask does per request what it would skip (%s): pushes take "
                    "Flask's whole request cycle", ", ".join(skipped))
        return
    app.wsgi_app = PushShortcut(app, app.wsgi_app)


def installed(app):
    """Return the PushShortcut among app's WSGI middleware, or None when it stood aside."""
    layer = app.wsgi_app
    while layer is not None and not isinstance(layer, PushShortcut):
        layer = getattr(layer, "wsgi_app", None) or getattr(layer, "app", None)  # ours, then werkzeug's
    return layer


def work_the_shortcut_would_skip(app):
    """Return the names of what Flask does per request that the shortcut does not (hooks, host checks)."""
    return internals.per_request_work(app)


class PushShortcut:
    """WSGI middleware: stores and answers a push the view would store; hands anything else to Flask."""

    def __init__(self, app, flask_wsgi_app):
        self.app = app
        self.flask_wsgi_app = flask_wsgi_app
        # The view's answer as it leaves Flask, after_request hooks included; they add fixed headers.
        with app.test_request_context(method="POST"):
            self.headers = list(internals.as_flask_sends(app, agents.pushed_response()).headers.items())

    def __call__(self, environ, start_response):
        """Answer one WSGI request: a push stored here, or whatever Flask answers."""
        push = self._json_push(environ)
        if push is None:
            return self.flask_wsgi_app(environ, start_response)
        agent_id, length = push
        body = environ["wsgi.input"].read(length)  # already in memory: waitress reads a body before calling
        try:
            with self.app.app_context():
                outcome = self._store(agent_id, environ, body) if len(body) == length else None
        except Exception as error:  # answered as Flask answers an error raised in the view
            return self._answer_error(error, environ, start_response)
        if isinstance(outcome, push_limits.PushRefused):  # refused as the view would, without reading it again
            return self._answer_error(agents.refusal(outcome), environ, start_response)
        if outcome is not None:
            answer = agents.pushed_body(outcome)
            start_response("200 OK", list(self.headers) if answer is agents.PUSHED else [
                (name, str(len(answer)) if name == "Content-Length" else value) for name, value in self.headers])
            return [answer]
        environ["wsgi.input"] = io.BytesIO(body)  # what was read, for Flask to read again
        return self.flask_wsgi_app(environ, start_response)

    def _json_push(self, environ):
        """Return (agent id, body length) of a JSON push within the size limit, else None; reads nothing."""
        if environ["REQUEST_METHOD"] != "POST":
            return None
        match = PUSH_PATH.fullmatch(environ.get("PATH_INFO", ""))
        length = get_content_length(environ)  # as Flask reads it: None when chunked or absent
        # A body sent compressed was bounded as sent and is bounded decompressed (kubewatch/decompression.py).
        limit = environ.get(DECOMPRESSED + ".limit") or self.app.config["MAX_CONTENT_LENGTH"]
        if match is None or not length or limit is not None and length > limit:
            return None
        if parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower() != "application/json":
            return None
        return match.group(1), length

    def _store(self, agent_id, environ, body):
        """Store the push as the view would and return its Outcome, or the PushRefused the view would raise;
        return None (storing nothing) where the view would refuse otherwise."""
        pushing = access.agent_of(environ.get("HTTP_AUTHORIZATION", ""))
        if pushing is None or pushing[0] != agent_id:
            return None
        try:
            push_limits.check_rate(agent_id)
            environ[push_limits.RATE_SPENT] = True
            push_limits.check_count(body)
            # None when fast_load refuses the body
            outcome = receive_push(agent_id, fast_load, body, environ.get("HTTP_DATE"), pushing[2], len(body))
        except push_limits.PushRefused as refused:
            return refused
        return outcome if outcome is not None and outcome.agent_found else None  # a deleted agent: the view says so

    def _answer_error(self, error, environ, start_response):
        """Answer an error raised while storing as Flask answers one raised in the view: handlers, then hooks."""
        with self.app.request_context(environ):
            response = internals.as_flask_answers_error(self.app, error)
            return response(environ, start_response)
