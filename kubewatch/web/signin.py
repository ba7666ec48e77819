"""Signing in and out with the form at /login."""

import logging

from flask import redirect, render_template, request, url_for
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from kubewatch import sessions
from kubewatch.api import access
from kubewatch.web import blp, safe_next

log = logging.getLogger("kubewatch.auth")


@blp.get("/login")
def login():
    """Show the sign-in form; a signed-in user goes straight on."""
    if access.session_user() is not None:
        return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", next=request.args.get("next", ""), email="")


@blp.post("/login")
def sign_in():
    """Sign in with the form's email and password and go on to `next`; wrong ones show the form again (401)."""
    sessions.protect()
    email, password = request.form.get("email", ""), request.form.get("password", "")
    target = request.form.get("next", "")
    try:
        user = access.user_signing_in(email, password) if email and password else None
    except (TooManyRequests, ServiceUnavailable) as refused:
        message = ("Too many failed attempts: wait a few minutes before trying again." if refused.code == 429
                   else "Too many sign-ins at once: try again in a moment.")
        return render_template("login.html", next=target, email=email, message=message), \
            refused.code, getattr(refused, "data", {}).get("headers", {})
    if user is None:
        return render_template("login.html", next=target, email=email, message="Email or password is wrong."), 401
    sessions.sign_in(user)
    log.info("%s signed in to the dashboard", user["email"])
    return redirect(safe_next(target))


@blp.route("/logout", methods=["GET", "POST"])
def logout():
    """Sign out (POST with the CSRF token); a GET shows the button that does it."""
    if request.method == "GET":
        if access.session_user() is None:
            return redirect(url_for("web.login"))
        return render_template("logout.html", user=access.session_user())
    sessions.protect()
    sessions.sign_out()
    return redirect(url_for("web.login"))
