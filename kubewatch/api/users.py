"""Users: admins invite, list, change and remove the people of their organization; everyone changes their own password."""

import logging
import time

from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates

from kubewatch import credentials, sessions
from kubewatch.api import access
from kubewatch.accounts import MIN_PASSWORD_LENGTH
from kubewatch.api import Blueprint
from kubewatch.api.errors import found_or_404
from kubewatch.api.fields import EpochTime, text
from kubewatch.repository import users
from kubewatch.repository.account_rows import EmailTaken

log = logging.getLogger("kubewatch.users")

blp = Blueprint("users", __name__, url_prefix="/api/v1/users",
                description="The people of an organization; admins only, but for one's own password.")

_USER = [{"userToken": []}]
ROLES = ("admin", "viewer")
LAST_ADMIN = "An organization keeps at least one admin: make another user admin first."


def _password(**kwargs):
    return fields.String(validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=1024), **kwargs)


class UserSchema(Schema):
    id = fields.String()
    email = fields.String()
    role = fields.String(metadata={"enum": list(ROLES)})
    createdAt = EpochTime(attribute="created_at")


class InviteSchema(Schema):
    email = text(320, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = _password(metadata={"description": "Leave out to have one generated, and shown once."})

    @validates("email")
    def _looks_like_email(self, value, **kwargs):
        if "@" not in value.strip()[1:-1]:
            raise ValidationError("Not an email address.")


class InvitedSchema(UserSchema):
    password = fields.String(metadata={"description": "The generated password, shown this once; absent when typed."})


class RoleSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class ResetSchema(Schema):
    password = _password(metadata={"description": "Leave out to have one generated, and shown once."})


class ResetDoneSchema(Schema):
    password = fields.String(metadata={"description": "The generated password, shown this once; absent when typed."})


class OwnPasswordSchema(Schema):
    currentPassword = text(1024, required=True)
    newPassword = _password(required=True)


@blp.get("")
@access.needs_user(role="admin")
@blp.response(200, UserSchema(many=True))
@blp.doc(security=_USER)
def list_users(user):
    """List the organization's users by email."""
    return users.users_for_org(user["org_id"])


@blp.post("")
@access.needs_user(role="admin")
@blp.arguments(InviteSchema)
@blp.response(201, InvitedSchema)
@blp.alt_response(409, response="CONFLICT")
@blp.doc(security=_USER)
def invite(body, user):
    """Add a user to the organization with a role; 409 when the email is in use."""
    generated = "password" not in body
    password = credentials.new_password() if generated else body["password"]
    try:
        added = users.add_to_org(user["org_id"], credentials.new_id("usr"), credentials.normalize_email(body["email"]),
                                 access.hashed_password(password), body["role"], int(time.time()))
    except EmailTaken:
        abort(409, message="A user with this email already exists.")
    log.info("user %s (%s) added by %s", added["id"], added["role"], user["email"])
    return {**added, "password": password} if generated else added


@blp.patch("/<user_id>")
@access.needs_user(role="admin")
@blp.arguments(RoleSchema)
@blp.response(200, UserSchema)
@blp.alt_response(409, response="CONFLICT")
@blp.doc(security=_USER)
def change_role(body, user_id, user):
    """Change a user's role; 409 when that would leave the organization without an admin."""
    try:
        changed = users.set_role(user["org_id"], user_id, body["role"])
    except users.LastAdmin:
        abort(409, message=LAST_ADMIN)
    found_or_404(changed, f"User {user_id}")
    log.info("user %s made %s by %s", user_id, body["role"], user["email"])
    return changed


@blp.post("/<user_id>/password")
@access.needs_user(role="admin")
@blp.arguments(ResetSchema)
@blp.response(200, ResetDoneSchema)
@blp.doc(security=_USER)
def reset_password(body, user_id, user):
    """Give a user a new password, typed or generated (then shown this once); their sessions end."""
    password = body.get("password") or credentials.new_password()
    found_or_404(users.set_password(user["org_id"], user_id, access.hashed_password(password)), f"User {user_id}")
    log.info("password of user %s reset by %s", user_id, user["email"])
    return {} if "password" in body else {"password": password}


@blp.delete("/<user_id>")
@access.needs_user(role="admin")
@blp.response(204)
@blp.alt_response(409, response="CONFLICT")
@blp.doc(security=_USER)
def remove(user_id, user):
    """Remove a user from the organization; 409 for its last admin."""
    try:
        removed = users.delete_user(user["org_id"], user_id)
    except users.LastAdmin:
        abort(409, message=LAST_ADMIN)
    found_or_404(removed, f"User {user_id}")
    log.info("user %s removed by %s", user_id, user["email"])


@blp.put("/me/password")
@access.needs_user()
@blp.arguments(OwnPasswordSchema)
@blp.response(204)
@blp.doc(security=_USER)
def change_own_password(body, user):
    """Change one's own password, giving the current one; 400 when it is wrong (counted as a failed sign-in)."""
    if access.user_signing_in(user["email"], body["currentPassword"]) is None:
        abort(400, errors={"json": {"currentPassword": ["This is not your current password."]}})
    password_hash = access.hashed_password(body["newPassword"])
    users.set_password(user["org_id"], user["id"], password_hash)
    if sessions.uses_session():  # a new password ends the sessions signed in with the old one, but not this one
        sessions.sign_in({"id": user["id"], "password_hash": password_hash})
    log.info("%s changed their password", user["email"])
