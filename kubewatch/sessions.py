"""Signed session cookies for people in a browser, and the CSRF check of what they send."""

import hashlib

from flask import current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect, generate_csrf

# Never init_app'ed: CSRFProtect.init_app checks every request in an app-wide before_request, and
# that hook would make the push shortcut stand aside. Only cookie-authenticated requests are
# checked, from access.signed_in_user and the web views (protect() below).
csrf = CSRFProtect()

CSRF_SETTINGS = {
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_METHODS": {"POST", "PUT", "PATCH", "DELETE"},
    "WTF_CSRF_FIELD_NAME": "csrf_token",
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    # The token lives as long as the session: a page left open all day can still delete.
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_SSL_STRICT": True,
}


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure when the request came over HTTPS (as ProxyFix reports it)."""

    def open_session(self, app, request):
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()  # API clients send none: skip building the signer
        return super().open_session(app, request)

    def get_cookie_secure(self, app):
        return request.is_secure


def init_app(app):
    """Give app cookie sessions (HttpOnly, SameSite=Lax, lasting USER_TOKEN_TTL) and the CSRF settings."""
    app.session_interface = CookieSessions()
    app.config.update(SESSION_COOKIE_NAME="kubewatch_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=app.config["USER_TOKEN_TTL"])
    for name, value in CSRF_SETTINGS.items():
        app.config.setdefault(name, value)
    app.extensions["csrf"] = csrf
    app.jinja_env.globals["csrf_token"] = generate_csrf


def protect():
    """Abort 400 (flask_wtf.csrf.CSRFError) when a state-changing request lacks a valid CSRF token."""
    csrf.protect()


def password_mark(password_hash):
    """Return a short digest of a password hash: a session ends when the password changes."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def sign_in(user):
    """Start the session of user (a row with id and password_hash)."""
    session.clear()
    session.permanent = True
    session["u"] = user["id"]
    session["p"] = password_mark(user["password_hash"])


def sign_out():
    """End the session."""
    session.clear()


def session_user_id():
    """Return (user id, password mark) of the session, or None without one."""
    if "u" not in session:
        return None
    return session["u"], session.get("p")


def uses_session():
    """Tell whether the request authenticates by its cookie rather than an Authorization header."""
    return "Authorization" not in request.headers and current_app.config["SESSION_COOKIE_NAME"] in request.cookies
