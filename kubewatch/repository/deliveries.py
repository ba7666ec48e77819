"""The messages owed to notification channels: which are due, and what became of each attempt."""

from typing import NamedTuple

from sqlalchemy import text

from kubewatch.db import read, write

_OWED = "delivered_at IS NULL AND given_up_at IS NULL"


class Owed(NamedTuple):
    id: str
    url: str
    title: str
    body: str
    notify_type: str
    attempts: int
    next_attempt_at: int


def channels_with_due(now):
    """Return the ids of the channels owed a message whose attempt is due at now."""
    with read() as conn:
        return [row[0] for row in conn.execute(text(
            f"SELECT DISTINCT channel_id FROM alert_deliveries WHERE {_OWED} AND next_attempt_at <= :now"),
            {"now": now})]


def oldest_owed(channel_id):
    """Return the channel's oldest message not delivered nor given up (Owed), or None; messages go out in order."""
    with read() as conn:
        row = conn.execute(text(
            "SELECT d.id, c.url, d.title, d.body, d.notify_type, d.attempts, d.next_attempt_at "
            "FROM alert_deliveries d JOIN notification_channels c ON c.id = d.channel_id "
            f"WHERE d.channel_id = :channel_id AND d.{_OWED.replace(' AND ', ' AND d.')} "
            "ORDER BY d.queued_ns LIMIT 1"), {"channel_id": channel_id}).first()
    return Owed(*row) if row else None


def delivered(delivery_id, channel_id, now):
    """Mark a message delivered and its channel's lastDeliveredAt."""
    with write() as conn:
        conn.execute(text("UPDATE alert_deliveries SET delivered_at = :now, attempts = attempts + 1 WHERE id = :id"),
                     {"now": now, "id": delivery_id})
        conn.execute(text("UPDATE notification_channels SET last_delivered_at = :now WHERE id = :id"),
                     {"now": now, "id": channel_id})


def failed(delivery_id, channel_id, now, error, retry_at):
    """Record a failed attempt and the channel's lastError; retry at retry_at, or never when it is None."""
    with write() as conn:
        conn.execute(text(
            "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = :error, next_attempt_at = "
            "COALESCE(:retry_at, next_attempt_at), given_up_at = CASE WHEN :retry_at IS NULL THEN :now END "
            "WHERE id = :id"), {"error": error, "retry_at": retry_at, "now": now, "id": delivery_id})
        conn.execute(text("UPDATE notification_channels SET last_error = :error, last_error_at = :now WHERE id = :id"),
                     {"error": error, "now": now, "id": channel_id})


def deliveries_of(alert_id):
    """Return the messages of an alert as (channel_id, event, delivered_at, attempts), oldest first."""
    with read() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT channel_id, event, delivered_at, attempts FROM alert_deliveries WHERE alert_id = :id "
            "ORDER BY queued_ns"), {"id": alert_id})]
