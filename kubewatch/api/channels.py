"""Notification channels: where alerts are sent, as Apprise URLs; admins write, viewers read."""

import logging
import time

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validates

from kubewatch.alerting import channels
from kubewatch.api import Blueprint, access
from kubewatch.api.errors import found_or_404
from kubewatch.api.fields import EpochTime, text
from kubewatch.credentials import new_id
from kubewatch.repository import alert_config

log = logging.getLogger("kubewatch.alerts")
_USER = [{"userToken": []}]

blp = Blueprint("notification_channels", __name__, url_prefix="/api/v1/notification-channels",
                description="Where alerts are sent: Apprise URLs (ntfy, Gotify, Discord, Telegram, Slack, mail, webhooks).")


class NewChannelSchema(Schema):
    name = text(100, required=True)
    url = fields.String(required=True, metadata={
        "description": "An Apprise URL: ntfys://ntfy.sh/topic, tgram://bot-token/chat-id, mailtos://..., json://host/path."})

    @validates("url")
    def _apprise_takes_it(self, value, **kwargs):
        if len(value) > 2000 or not channels.is_valid(value):
            raise ValidationError("Not a notification URL this server can send to: see Apprise's URL forms.")


class ChannelSchema(Schema):
    id = fields.String()
    name = fields.String()
    url = fields.String(metadata={"description": "Scheme and host only; *** where the host is itself a secret."})
    createdAt = EpochTime(attribute="created_at")
    lastDeliveredAt = EpochTime(attribute="last_delivered_at", allow_none=True)
    lastError = fields.String(attribute="last_error", allow_none=True)
    lastErrorAt = EpochTime(attribute="last_error_at", allow_none=True)


class TestedSchema(Schema):
    delivered = fields.Boolean()
    error = fields.String(allow_none=True, metadata={"description": "Why not, without the URL's secrets."})


def _shown(channel):
    return {**channel, "url": channels.masked(channel["url"])}


@blp.post("")
@access.needs_user(role="admin")
@blp.arguments(NewChannelSchema)
@blp.response(201, ChannelSchema)
@blp.doc(security=_USER)
def create(body, user):
    """Add a channel; its URL is kept whole and shown only as scheme and host."""
    channel = alert_config.add_channel(user["org_id"], new_id("chan"), body["name"], body["url"], int(time.time()))
    log.info("notification channel %s (%s) added by %s", channel["id"], channels.masked(body["url"]), user["email"])
    return _shown(channel)


@blp.get("")
@access.needs_user()
@blp.response(200, ChannelSchema(many=True))
@blp.doc(security=_USER)
def list_channels(user):
    """List the organization's channels with their last delivery and last error."""
    return [_shown(channel) for channel in alert_config.channels_for_org(user["org_id"])]


@blp.delete("/<channel_id>")
@access.needs_user(role="admin")
@blp.response(204)
@blp.doc(security=_USER)
def delete(channel_id, user):
    """Delete a channel; rules stop sending to it, and messages still owed to it are dropped."""
    found_or_404(alert_config.delete_channel(user["org_id"], channel_id), f"Notification channel {channel_id}")
    log.info("notification channel %s deleted by %s", channel_id, user["email"])


@blp.post("/<channel_id>/test")
@access.needs_user(role="admin")
@blp.response(200, TestedSchema)
@blp.doc(security=_USER)
def test(channel_id, user):
    """Send a test message now; answer whether it was delivered and, if not, why."""
    channel = found_or_404(alert_config.channel_for_org(user["org_id"], channel_id),
                           f"Notification channel {channel_id}")
    sent = channels.send(channel["url"], "[kubewatch] Test message",
                         f"This is a test of the notification channel {channel['name']}.", "info",
                         current_app.config["ALERT_DELIVERY_TIMEOUT"])
    alert_config.record_outcome(channel_id, int(time.time()), sent.error)
    return {"delivered": sent.delivered, "error": sent.error}
