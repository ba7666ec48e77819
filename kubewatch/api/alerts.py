"""Alerts as they fire and resolve, and silences for maintenance; admins write, viewers read."""

import logging
import time

from flask import jsonify
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates

from kubewatch.api import Blueprint, access
from kubewatch.api.answers import Shape
from kubewatch.api.errors import found_or_404
from kubewatch.api.fields import EpochTime, text
from kubewatch.credentials import new_id
from kubewatch.repository import alert_config, alert_state

log = logging.getLogger("kubewatch.alerts")
_USER = [{"userToken": []}]

blp = Blueprint("alerts", __name__, url_prefix="/api/v1", description="Alerts, firing and past, and silences.")


class AlertsQuery(Schema):
    state = fields.String(validate=validate.OneOf(["firing", "resolved"]))


class AlertSchema(Schema):
    id = fields.String()
    state = fields.String(metadata={"enum": ["firing", "resolved"]})
    ruleId = fields.String(attribute="rule_id", allow_none=True,
                           metadata={"description": "null once the rule is deleted."})
    ruleName = fields.String(attribute="rule_name")
    kind = fields.String()
    agentId = fields.String(attribute="agent_id")
    agentName = fields.String(attribute="agent_name")
    objectType = fields.String(attribute="object_type", metadata={"enum": ["agent", "container", "pod", "node"]})
    object = fields.String(attribute="object_name",
                           metadata={"description": "The object's name; pods are namespace/name."})
    value = fields.Float(allow_none=True)
    threshold = fields.Float(allow_none=True)
    summary = fields.String()
    startedAt = EpochTime(attribute="started_at")
    resolvedAt = EpochTime(attribute="resolved_at", allow_none=True)


ALERT = Shape(AlertSchema)


def alert_json(alert):
    """Return an alert row as the API shows it (AlertSchema), its state found from resolved_at."""
    alert["state"] = "firing" if alert["resolved_at"] is None else "resolved"
    return ALERT(alert)


@blp.get("/alerts")
@access.needs_user()
@blp.arguments(AlertsQuery, location="query")
@blp.response(200, AlertSchema(many=True))
@blp.doc(security=_USER)
def list_alerts(query, user):
    """List the organization's alerts of the last 90 days, newest first; `state` filters (at most 500)."""
    return jsonify([alert_json(a) for a in alert_state.alerts_for_org(user["org_id"], query.get("state"))])


class NewSilenceSchema(Schema):
    agent_id = fields.String(data_key="agentId", allow_none=True, load_default=None)
    rule_id = fields.String(data_key="ruleId", allow_none=True, load_default=None)
    until = fields.AwareDateTime(required=True, format="iso")
    comment = text(500, load_default=None)

    @validates("until")
    def _in_the_future(self, value, **kwargs):
        if value.timestamp() <= time.time():
            raise ValidationError("until must be in the future.")


class SilenceSchema(Schema):
    id = fields.String()
    agentId = fields.String(attribute="agent_id", allow_none=True)
    ruleId = fields.String(attribute="rule_id", allow_none=True)
    until = EpochTime()
    comment = fields.String(allow_none=True)
    createdAt = EpochTime(attribute="created_at")


@blp.post("/silences")
@access.needs_user(role="admin")
@blp.arguments(NewSilenceSchema)
@blp.response(201, SilenceSchema)
@blp.doc(security=_USER)
def silence(body, user):
    """Silence the alerts of one agent, one rule, both, or (neither given) all, until a time: recorded, not sent."""
    errors = {}
    for field, table, value in (("agentId", "agents", body["agent_id"]), ("ruleId", "alert_rules", body["rule_id"])):
        if value is not None and alert_config.unknown_ids(user["org_id"], table, [value]):
            errors[field] = [f"{value} doesn't exist."]
    if errors:
        abort(400, errors={"json": errors})
    created = alert_config.add_silence(user["org_id"], {
        "id": new_id("silence"), "agent_id": body["agent_id"], "rule_id": body["rule_id"],
        "until": int(body["until"].timestamp()), "comment": body["comment"]}, int(time.time()))
    log.info("silence %s until %s added by %s", created["id"], EpochTime.format(created["until"]), user["email"])
    return created


@blp.get("/silences")
@access.needs_user()
@blp.response(200, SilenceSchema(many=True))
@blp.doc(security=_USER)
def list_silences(user):
    """List the organization's silences that have not ended."""
    return alert_config.silences_for_org(user["org_id"], int(time.time()))


@blp.delete("/silences/<silence_id>")
@access.needs_user(role="admin")
@blp.response(204)
@blp.doc(security=_USER)
def end_silence(silence_id, user):
    """End a silence now."""
    found_or_404(alert_config.delete_silence(user["org_id"], silence_id), f"Silence {silence_id}")
    log.info("silence %s ended by %s", silence_id, user["email"])
