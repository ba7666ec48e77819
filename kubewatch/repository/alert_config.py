"""Alerting's configuration: notification channels, alert rules and silences, each of one organization."""

from sqlalchemy import bindparam, text

from kubewatch.db import read, write

_CHANNEL = "id, name, url, created_at, last_delivered_at, last_error, last_error_at"
_RULE = "id, name, kind, agent_id, match, threshold, for_seconds, repeat_seconds, enabled, created_at"


def _rows(sql, **params):
    with read() as conn:
        return [dict(row) for row in conn.execute(text(sql), params).mappings()]


def add_channel(org_id, channel_id, name, url, now):
    """Store a channel; return it as channel_for_org would."""
    with write() as conn:
        conn.execute(text("INSERT INTO notification_channels (id, org_id, name, url, created_at) "
                          "VALUES (:id, :org_id, :name, :url, :now)"),
                     {"id": channel_id, "org_id": org_id, "name": name, "url": url, "now": now})
    return channel_for_org(org_id, channel_id)


def channels_for_org(org_id):
    """Return the organization's channels, by name, each with its URL (secrets included: never show it)."""
    return _rows(f"SELECT {_CHANNEL} FROM notification_channels WHERE org_id = :org_id ORDER BY name, id",
                 org_id=org_id)


def channel_for_org(org_id, channel_id):
    """Return one channel of the organization, or None."""
    found = _rows(f"SELECT {_CHANNEL} FROM notification_channels WHERE id = :id AND org_id = :org_id",
                  id=channel_id, org_id=org_id)
    return found[0] if found else None


def delete_channel(org_id, channel_id):
    """Delete a channel and the messages still owed to it; return False when the organization has none such."""
    with write() as conn:
        return conn.execute(text("DELETE FROM notification_channels WHERE id = :id AND org_id = :org_id"),
                            {"id": channel_id, "org_id": org_id}).rowcount == 1


def record_outcome(channel_id, now, error):
    """Record a delivery to a channel: lastDeliveredAt when error is None, else lastError."""
    with write() as conn:
        if error is None:
            conn.execute(text("UPDATE notification_channels SET last_delivered_at = :now WHERE id = :id"),
                         {"now": now, "id": channel_id})
        else:
            conn.execute(text("UPDATE notification_channels SET last_error = :error, last_error_at = :now "
                              "WHERE id = :id"), {"error": error, "now": now, "id": channel_id})


def unknown_ids(org_id, table, ids):
    """Return the ids among ids that are not the organization's rows of table (agents or notification_channels)."""
    assert table in ("agents", "notification_channels", "alert_rules")  # never from input
    if not ids:
        return []
    with read() as conn:
        found = {row[0] for row in conn.execute(
            text(f"SELECT id FROM {table} WHERE org_id = :org_id AND id IN :ids").bindparams(
                bindparam("ids", expanding=True)), {"org_id": org_id, "ids": list(ids)})}
    return [i for i in ids if i not in found]


def save_rule(org_id, rule, now, creating):
    """Insert or replace a rule (a dict of its columns and "channels": [ids]); return it as rule_for_org would."""
    params = {key: rule[key] for key in ("id", "name", "kind", "agent_id", "match", "threshold", "for_seconds",
                                         "repeat_seconds")}
    params.update(org_id=org_id, enabled=int(rule["enabled"]), now=now)
    with write() as conn:
        if creating:
            conn.execute(text(f"INSERT INTO alert_rules ({_RULE}, org_id) VALUES (:id, :name, :kind, :agent_id, "
                              ":match, :threshold, :for_seconds, :repeat_seconds, :enabled, :now, :org_id)"), params)
        else:
            conn.execute(text("UPDATE alert_rules SET name = :name, kind = :kind, agent_id = :agent_id, "
                              "match = :match, threshold = :threshold, for_seconds = :for_seconds, "
                              "repeat_seconds = :repeat_seconds, enabled = :enabled "
                              "WHERE id = :id AND org_id = :org_id"), params)
            conn.execute(text("DELETE FROM alert_rule_channels WHERE rule_id = :id"), params)
        if rule["channels"]:
            conn.execute(text("INSERT INTO alert_rule_channels (rule_id, channel_id) VALUES (:rule_id, :channel_id)"),
                         [{"rule_id": rule["id"], "channel_id": c} for c in dict.fromkeys(rule["channels"])])
    return rule_for_org(org_id, rule["id"])


def rules_for_org(org_id, rule_id=None):
    """Return the organization's rules (or the one with rule_id), by name, each with "channels": [ids]."""
    where = "org_id = :org_id" + (" AND id = :id" if rule_id else "")
    rules = _rows(f"SELECT {_RULE} FROM alert_rules WHERE {where} ORDER BY name, id", org_id=org_id, id=rule_id)
    links = _rows("SELECT l.rule_id, l.channel_id FROM alert_rule_channels l JOIN alert_rules r ON r.id = l.rule_id "
                  f"WHERE r.{where} ORDER BY l.channel_id", org_id=org_id, id=rule_id)
    for rule in rules:
        rule["enabled"] = bool(rule["enabled"])
        rule["channels"] = [link["channel_id"] for link in links if link["rule_id"] == rule["id"]]
    return rules


def rule_for_org(org_id, rule_id):
    """Return one rule of the organization, or None."""
    found = rules_for_org(org_id, rule_id)
    return found[0] if found else None


def delete_rule(org_id, rule_id, now):
    """Delete a rule; its open alerts end now, unannounced, and stay in the history. False when none such."""
    with write() as conn:
        params = {"id": rule_id, "org_id": org_id, "now": now}
        conn.execute(text("DELETE FROM alerts WHERE rule_id = :id AND org_id = :org_id AND fired_at IS NULL"), params)
        conn.execute(text("UPDATE alerts SET resolved_at = :now WHERE rule_id = :id AND org_id = :org_id "
                          "AND resolved_at IS NULL"), params)
        return conn.execute(text("DELETE FROM alert_rules WHERE id = :id AND org_id = :org_id"), params).rowcount == 1


def add_silence(org_id, silence, now):
    """Store a silence (id, agent_id, rule_id, until, comment); return it."""
    with write() as conn:
        conn.execute(text("INSERT INTO silences (id, org_id, agent_id, rule_id, until, comment, created_at) "
                          "VALUES (:id, :org_id, :agent_id, :rule_id, :until, :comment, :now)"),
                     {**silence, "org_id": org_id, "now": now})
    return {**silence, "created_at": now}


def silences_for_org(org_id, now):
    """Return the organization's silences that have not ended, soonest end first."""
    return _rows("SELECT id, agent_id, rule_id, until, comment, created_at FROM silences "
                 "WHERE org_id = :org_id AND until > :now ORDER BY until, id", org_id=org_id, now=now)


def delete_silence(org_id, silence_id):
    """End a silence now by deleting it; return False when the organization has none such."""
    with write() as conn:
        return conn.execute(text("DELETE FROM silences WHERE id = :id AND org_id = :org_id"),
                            {"id": silence_id, "org_id": org_id}).rowcount == 1
