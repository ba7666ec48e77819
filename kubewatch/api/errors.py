"""The one error shape: every 4xx and 5xx answer is JSON built here."""

import logging
from http import HTTPStatus

from flask import jsonify
from flask_smorest import abort
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("kubewatch")


def error_response(code, message, errors=None, headers=None):
    """Return a JSON response `{"code", "status", "message", "errors"?}` for an HTTP status."""
    body = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = code
    response.headers.update(headers or {})
    return response


def found_or_404(found, what):
    """Return found (a row, or True when a change found its row); abort 404 "<what> doesn't exist." otherwise."""
    if not found:
        abort(404, message=f"{what} doesn't exist.")
    return found


def handle_http_exception(error):
    """Turn any HTTPException, including webargs validation aborts, into the error shape."""
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    message = data.get("message") or (
        "The request is not valid: see errors for each field." if errors else error.description
    )
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    return error_response(error.code, message, errors, headers)


def handle_database_unavailable(error):
    """Answer 503 with Retry-After when the database is locked, read-only, full or gone."""
    log.warning("database unavailable: %s", error.orig)
    return error_response(503, "The database is unavailable right now; retry shortly.",
                          headers={"Retry-After": "5"})


def handle_unencodable_text(error):
    """Answer 400 for text the database cannot store (a lone UTF-16 surrogate from a JSON escape)."""
    return error_response(400, "The request holds text that is not valid Unicode (a lone surrogate escape).")


def handle_unexpected(error):
    """Log an unexpected exception with its traceback and answer 500 without one."""
    log.exception("unexpected error")
    return error_response(500, InternalServerError.description)


def init_app(app):
    """Register the handlers that give every error the same JSON shape."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(UnicodeEncodeError, handle_unencodable_text)
    app.register_error_handler(Exception, handle_unexpected)
