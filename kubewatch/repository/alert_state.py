"""Alerting's state: open and past alerts, what the evaluator remembers of containers, and its changes."""

from sqlalchemy import text

from kubewatch.alerting.watch import Watched
from kubewatch.db import read, write

_ALERT = ("id, org_id, rule_id, rule_name, kind, agent_id, object_type, object_name, value, threshold, summary, "
          "started_at, fired_at, resolved_at, notified_at")
_ALERT_NAMES = tuple(name.strip() for name in _ALERT.split(","))
_INSERT_ALERT = text(f"INSERT INTO alerts ({_ALERT}) VALUES ({', '.join(':' + n for n in _ALERT_NAMES)})")
_UPDATE_ALERT = text("UPDATE alerts SET value = :value, summary = :summary, fired_at = :fired_at, "
                     "resolved_at = :resolved_at, notified_at = :notified_at WHERE id = :id")
_INSERT_DELIVERY = text(
    "INSERT INTO alert_deliveries (id, alert_id, channel_id, event, title, body, notify_type, queued_ns, "
    "next_attempt_at) VALUES (:id, :alert_id, :channel_id, :event, :title, :body, :notify_type, :queued_ns, 0)")
_UPSERT_WATCHED = text(
    "INSERT INTO watched_containers (agent_id, name, runtime_id, running, seen_running, restart_count, restarted_at) "
    "VALUES (:agent_id, :name, :runtime_id, :running, :seen_running, :restart_count, :restarted_at) "
    "ON CONFLICT (agent_id, name) DO UPDATE SET runtime_id = excluded.runtime_id, running = excluded.running, "
    "seen_running = excluded.seen_running, restart_count = excluded.restart_count, "
    "restarted_at = excluded.restarted_at")


def evaluation_inputs(conn, now):
    """Return (rules with their channels, open alerts by (rule, agent, object type, name), active silences)."""
    rules = [dict(row) for row in conn.execute(text(
        "SELECT id, org_id, name, kind, agent_id, match, threshold, for_seconds, repeat_seconds, enabled "
        "FROM alert_rules ORDER BY id")).mappings()]
    links = conn.execute(text("SELECT rule_id, channel_id FROM alert_rule_channels ORDER BY channel_id")).all()
    by_rule = {}
    for rule_id, channel_id in links:
        by_rule.setdefault(rule_id, []).append(channel_id)
    for rule in rules:
        rule["channels"] = by_rule.get(rule["id"], [])
    open_alerts = {(row["rule_id"], row["agent_id"], row["object_type"], row["object_name"]): dict(row)
                   for row in conn.execute(text(f"SELECT {_ALERT} FROM alerts WHERE resolved_at IS NULL")).mappings()}
    silences = [tuple(row) for row in conn.execute(text(
        "SELECT org_id, agent_id, rule_id FROM silences WHERE until > :now"), {"now": now})]
    return rules, open_alerts, silences


def watched_containers(conn):
    """Return {agent_id: {name: Watched}} as last stored."""
    found = {}
    for agent_id, name, *rest in conn.execute(text(
            "SELECT agent_id, name, runtime_id, running, seen_running, restart_count, restarted_at "
            "FROM watched_containers")):
        runtime_id, running, seen_running, restart_count, restarted_at = rest
        found.setdefault(agent_id, {})[name] = Watched(runtime_id, bool(running), bool(seen_running),
                                                       restart_count, restarted_at)
    return found


def apply(new_alerts, changed_alerts, deliveries, watched, now):
    """Store one evaluation's changes in one transaction: alerts added and changed, messages owed, containers followed.

    watched: [(agent_id, name, Watched)] that changed.
    """
    with write() as conn:
        if new_alerts:
            conn.execute(_INSERT_ALERT, new_alerts)
        if changed_alerts:
            conn.execute(_UPDATE_ALERT, changed_alerts)
        pending_gone = [a["id"] for a in changed_alerts if a.get("dropped")]
        for alert_id in pending_gone:
            conn.execute(text("DELETE FROM alerts WHERE id = :id AND fired_at IS NULL"), {"id": alert_id})
        if deliveries:
            conn.execute(_INSERT_DELIVERY, deliveries)  # due at once
        if watched:
            conn.execute(_UPSERT_WATCHED, [
                {"agent_id": agent_id, "name": name, "runtime_id": w.runtime_id, "running": int(w.running),
                 "seen_running": int(w.seen_running), "restart_count": w.restart_count,
                 "restarted_at": w.restarted_at} for agent_id, name, w in watched])


def alerts_for_org(org_id, state=None, limit=500):
    """Return the organization's fired alerts, newest first; state "firing" or "resolved" filters."""
    where = {"firing": " AND resolved_at IS NULL", "resolved": " AND resolved_at IS NOT NULL"}.get(state, "")
    with read() as conn:
        rows = conn.execute(text(
            f"SELECT a.{_ALERT.replace(', ', ', a.')}, g.name AS agent_name FROM alerts a "
            f"JOIN agents g ON g.id = a.agent_id WHERE a.org_id = :org_id AND a.fired_at IS NOT NULL{where} "
            "ORDER BY a.started_at DESC, a.id LIMIT :limit"), {"org_id": org_id, "limit": limit}).mappings()
        return [dict(row) for row in rows]


def firing_count(org_id):
    """Return how many of the organization's alerts have fired and not resolved."""
    with read() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM alerts WHERE org_id = :org_id AND fired_at IS NOT NULL "
                                 "AND resolved_at IS NULL"), {"org_id": org_id}).scalar_one()


def prune_alerts(before):
    """Delete alerts resolved before `before` (epoch seconds), with their messages; return how many."""
    with write() as conn:
        return conn.execute(text("DELETE FROM alerts WHERE resolved_at < :before"), {"before": before}).rowcount
