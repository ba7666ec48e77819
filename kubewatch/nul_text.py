"""Refusing text with a NUL character, on both engines, before anything reads it.

PostgreSQL cannot store a NUL (U+0000) in a text column, and SQLite stores it but truncates it in
places (C strings). No name, email, path or status a client sends has a reason to hold one, so a
request with one anywhere (its path, its query, its body's JSON strings or form fields) is
answered 400 in the one error shape, the same on SQLite and PostgreSQL, and changes nothing.
"""

import io

import orjson
from werkzeug.exceptions import BadRequest
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_content_length

from kubewatch.api import internals
from kubewatch.decompression import DECOMPRESSED

MESSAGE = "The request holds a NUL character (U+0000) in text; kubewatch stores no text with one."


def init_app(app):
    """Put the check in front of Flask and the push shortcut, behind decompression (call before it)."""
    app.wsgi_app = RefuseNul(app, app.wsgi_app)


def holds_nul(value):
    """Return True when a decoded JSON value has a NUL in any string, key or value, at any depth."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


def _json_holds_nul(body):
    """Return True when a JSON body decodes to a NUL in a string (malformed JSON is Flask's to refuse)."""
    if b"\\u0000" not in body:  # JSON writes a NUL in a string only so: the common case costs one scan
        return False
    try:
        return holds_nul(orjson.loads(body))
    except orjson.JSONDecodeError:
        return False


class RefuseNul:
    """WSGI middleware: answers 400 for a request with a NUL in its path, query or body's text."""

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        """Answer one WSGI request: refused here, or whatever the app behind answers."""
        query = environ.get("QUERY_STRING", "")
        refused = "\x00" in environ.get("PATH_INFO", "") or "%00" in query or "\x00" in query
        length = get_content_length(environ)
        limit = environ.get(DECOMPRESSED + ".limit") or self.app.config["MAX_CONTENT_LENGTH"]
        if not refused and length and (limit is None or length <= limit):  # a bigger body is refused anyway
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)  # for the app behind to read
            if parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower() == "application/json":
                refused = _json_holds_nul(body)
            else:  # a form's fields, percent-encoded or not
                refused = b"\x00" in body or b"%00" in body or _json_holds_nul(body)
        if not refused:
            return self.wsgi_app(environ, start_response)
        with self.app.request_context(environ):
            return internals.as_flask_answers_error(self.app, BadRequest(MESSAGE))(environ, start_response)
