"""Signing in: a user's email and password for a user token."""

from flask import current_app
from flask_smorest import abort
from marshmallow import Schema, fields

from kubewatch import tokens
from kubewatch.api import Blueprint, access
from kubewatch.api.fields import text

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Signing in.")


class LoginSchema(Schema):
    email = text(320, required=True)
    password = text(1024, required=True)


class SessionSchema(Schema):
    token = fields.String()
    expiresIn = fields.Integer()


@blp.post("/login")
@blp.arguments(LoginSchema)
@blp.response(200, SessionSchema)
def login(body):
    """Trade a user's email and password for a signed user token."""
    user = access.user_signing_in(body["email"], body["password"])
    if user is None:
        abort(401, message="Email or password is wrong.")
    return {"token": tokens.sign_user_token(user["id"]),
            "expiresIn": current_app.config["USER_TOKEN_TTL"]}
