"""API keys: admins create, list and revoke the keys agents register with."""

import logging
import time

from marshmallow import Schema, fields, validate

from kubewatch import revocations
from kubewatch.accounts import add_api_key
from kubewatch.api import Blueprint, access
from kubewatch.api.errors import found_or_404
from kubewatch.api.fields import EpochTime
from kubewatch.logsafe import shown
from kubewatch.repository import account_rows

log = logging.getLogger("kubewatch.keys")

SCOPES = ("ingest", "read")

blp = Blueprint("api_keys", __name__, url_prefix="/api/v1/api-keys", description="API keys (ingest and read-only); admins only.")


class NewKeySchema(Schema):
    name = fields.String(load_default="", validate=validate.Length(max=100))
    scope = fields.String(load_default="ingest", validate=validate.OneOf(SCOPES), metadata={
        "description": "ingest: registers agents (kw_live_...). read: scrapes /metrics and reads, changes nothing "
                       "(kw_read_...)."})


class KeySchema(Schema):
    id = fields.String()
    name = fields.String()
    prefix = fields.String(metadata={"description": "The key's first characters, to tell keys apart."})
    scope = fields.String(metadata={"enum": list(SCOPES)})
    createdAt = EpochTime(attribute="created_at")
    revokedAt = EpochTime(attribute="revoked_at", allow_none=True)
    lastUsedAt = EpochTime(attribute="last_used_at", allow_none=True, metadata={
        "description": "When the key last registered an agent (ingest) or read (read), to the minute; "
                       "null when never since it was made (or since the upgrade that began recording it)."})


class CreatedKeySchema(KeySchema):
    key = fields.String(metadata={"description": "The whole key. It is shown this once only."})


@blp.post("")
@access.needs_user(role="admin")
@blp.arguments(NewKeySchema)
@blp.response(201, CreatedKeySchema)
@blp.doc(security=[{"userToken": []}])
def create(body, user):
    """Create an API key; the whole key is in this answer and never again."""
    created = add_api_key(user["org_id"], body["name"], body["scope"])
    log.info("%s API key %s (%s...) created by %s", body["scope"], created["id"], created["prefix"],
             shown(user["email"]))
    return created


@blp.get("")
@access.needs_user(role="admin")
@blp.response(200, KeySchema(many=True))
@blp.doc(security=[{"userToken": []}])
def list_keys(user):
    """List the organization's keys by prefix, revoked ones included."""
    return account_rows.api_keys_for_org(user["org_id"])


@blp.delete("/<key_id>")
@access.needs_user(role="admin")
@blp.response(204)
@blp.doc(security=[{"userToken": []}])
def revoke(key_id, user):
    """Revoke a key: agents can no longer register with it and their tokens stop on their next push; scrapers can no
    longer read with it."""
    found_or_404(revocations.revoke(user["org_id"], key_id, int(time.time())), f"API key {key_id}")
    log.info("API key %s revoked by %s", shown(key_id), shown(user["email"]))
