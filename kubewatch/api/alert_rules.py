"""Alert rules: what to watch and where to send it; admins write, viewers read."""

import logging
import time

from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kubewatch.alerting.conditions import KINDS, THRESHOLD_KINDS
from kubewatch.api import Blueprint, access
from kubewatch.api.errors import found_or_404
from kubewatch.api.fields import EpochTime, Number, text
from kubewatch.credentials import new_id
from kubewatch.repository import alert_config

log = logging.getLogger("kubewatch.alerts")
_USER = [{"userToken": []}]
THRESHOLD_FOR_SECONDS = 60  # forSeconds of a threshold rule that does not say
DAY = 86400

blp = Blueprint("alert_rules", __name__, url_prefix="/api/v1/alert-rules",
                description="Alert rules: when to fire, on which agents and objects, to which channels.")


class RuleSchema(Schema):
    """A rule as given: every field of a POST, any of them in a PATCH."""

    name = text(100, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    agent_id = fields.String(data_key="agentId", allow_none=True, load_default=None,
                             metadata={"description": "One agent of the organization; null or absent: every agent."})
    match = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=255),
                          metadata={"description": "A glob on object names, such as postgres*; pods are namespace/name."})
    threshold = Number(allow_none=True, load_default=None, validate=validate.Range(min=0, max=1e6),
                       metadata={"description": "Percent, for cpu_above, memory_above and disk_above only."})
    for_seconds = fields.Integer(data_key="forSeconds", strict=True, validate=validate.Range(min=0, max=DAY),
                                 metadata={"description": "Default 0, or 60 for thresholds."})
    repeat_seconds = fields.Integer(data_key="repeatSeconds", strict=True, allow_none=True, load_default=None,
                                    validate=validate.Range(min=60, max=30 * DAY),
                                    metadata={"description": "Send a reminder this often while it fires."})
    channels = fields.List(fields.String(), load_default=list, validate=validate.Length(max=50))
    enabled = fields.Boolean(load_default=True)

    @validates_schema
    def _threshold_where_the_kind_has_one(self, data, partial=None, **kwargs):
        if not partial:  # a change is checked once merged with the rule it changes
            _check_threshold(data)


def _check_threshold(rule):
    """Raise ValidationError when the rule's kind needs a threshold it lacks, or has none and one is given."""
    if rule["kind"] in THRESHOLD_KINDS and rule.get("threshold") is None:
        raise ValidationError({"threshold": [f"{rule['kind']} needs a threshold (percent)."]})
    if rule["kind"] not in THRESHOLD_KINDS and rule.get("threshold") is not None:
        raise ValidationError({"threshold": [f"{rule['kind']} has no threshold."]})


class RuleChangeSchema(RuleSchema):
    """The fields of a rule to change (PATCH): any of RuleSchema's."""


class RuleOutSchema(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    agentId = fields.String(attribute="agent_id", allow_none=True)
    match = fields.String(allow_none=True)
    threshold = fields.Float(allow_none=True)
    forSeconds = fields.Integer(attribute="for_seconds")
    repeatSeconds = fields.Integer(attribute="repeat_seconds", allow_none=True)
    channels = fields.List(fields.String())
    enabled = fields.Boolean()
    createdAt = EpochTime(attribute="created_at")


def _checked(user, rule):
    """Return rule once its agent and channels are the organization's; abort 400 otherwise."""
    errors = {}
    if rule["agent_id"] is not None and alert_config.unknown_ids(user["org_id"], "agents", [rule["agent_id"]]):
        errors["agentId"] = [f"Agent {rule['agent_id']} doesn't exist."]
    unknown = alert_config.unknown_ids(user["org_id"], "notification_channels", rule["channels"])
    if unknown:
        errors["channels"] = [f"Notification channel {channel_id} doesn't exist." for channel_id in unknown]
    if errors:
        abort(400, errors={"json": errors})
    if rule.get("for_seconds") is None:
        rule["for_seconds"] = THRESHOLD_FOR_SECONDS if rule["kind"] in THRESHOLD_KINDS else 0
    return rule


@blp.post("")
@access.needs_user(role="admin")
@blp.arguments(RuleSchema)
@blp.response(201, RuleOutSchema)
@blp.doc(security=_USER)
def create(body, user):
    """Add a rule; it is evaluated from the evaluator's next run."""
    rule = _checked(user, {**body, "id": new_id("rule")})
    saved = alert_config.save_rule(user["org_id"], rule, int(time.time()), creating=True)
    log.info("alert rule %s (%s) added by %s", saved["id"], saved["kind"], user["email"])
    return saved


@blp.get("")
@access.needs_user()
@blp.response(200, RuleOutSchema(many=True))
@blp.doc(security=_USER)
def list_rules(user):
    """List the organization's rules."""
    return alert_config.rules_for_org(user["org_id"])


@blp.patch("/<rule_id>")
@access.needs_user(role="admin")
@blp.arguments(RuleChangeSchema(partial=True))
@blp.response(200, RuleOutSchema)
@blp.doc(security=_USER)
def update(body, rule_id, user):
    """Change some fields of a rule; alerts it no longer finds resolve at the next run."""
    rule = found_or_404(alert_config.rule_for_org(user["org_id"], rule_id), f"Alert rule {rule_id}")
    merged = {**rule, **body}
    if "kind" in body and "for_seconds" not in body:
        merged["for_seconds"] = None  # the new kind's default
    try:
        _check_threshold(merged)
    except ValidationError as error:
        abort(400, errors={"json": error.messages})
    saved = alert_config.save_rule(user["org_id"], _checked(user, merged), int(time.time()), creating=False)
    log.info("alert rule %s changed by %s", rule_id, user["email"])
    return saved


@blp.delete("/<rule_id>")
@access.needs_user(role="admin")
@blp.response(204)
@blp.doc(security=_USER)
def delete(rule_id, user):
    """Delete a rule; its firing alerts end unannounced and stay in the history."""
    found_or_404(alert_config.delete_rule(user["org_id"], rule_id, int(time.time())), f"Alert rule {rule_id}")
    log.info("alert rule %s deleted by %s", rule_id, user["email"])
