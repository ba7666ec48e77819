"""The dashboard: server-rendered pages under /, with a little JavaScript that reads the JSON API."""

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from kubewatch import sessions
from kubewatch.api import access

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                static_url_path="/static")


def init_app(app):
    """Register the dashboard's pages and give the app sessions and the CSRF check they need."""
    sessions.init_app(app)
    from kubewatch.web import pages, signin  # noqa: F401  (they add their routes to blp)

    app.register_blueprint(blp)
    app.jinja_env.globals["push_interval"] = lambda: current_app.config["PUSH_INTERVAL_SECONDS"]


def page(role=None):
    """Call a page view with user=the session's user; redirect to /login without one, 403 without role."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = access.session_user()
            if user is None:
                return redirect(url_for("web.login", next=request.script_root + request.full_path.rstrip("?")))
            if role is not None and user["role"] != role:
                abort(403, f"Only an {role} may open this page.")
            sessions.protect()
            return view(*args, user=user, **kwargs)
        return wrapper
    return decorate


def safe_next(target):
    """Return target when it is a path on this server, else the agents page: never a redirect elsewhere."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return url_for("web.agents")
    return target


@blp.app_errorhandler(CSRFError)
def csrf_refused(error):
    """Answer a request without its CSRF token 400: an error page for pages, the error shape for the API."""
    return _error(error)


def _error(error):
    if request.blueprint == "web":
        return render_template("error.html", error=error, user=access.session_user()), error.code
    from kubewatch.api import errors
    return errors.handle_http_exception(error)


@blp.errorhandler(HTTPException)
def page_error(error):
    """Show a page's errors (403, 404) as a page."""
    return _error(error)
