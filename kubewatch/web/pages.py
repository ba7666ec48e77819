"""The dashboard's pages: agents, one agent, alerts, API keys, users and one's own account."""

import time

from flask import abort, current_app, render_template, request

from kubewatch.alerting.conditions import KINDS, THRESHOLD_KINDS
from kubewatch.api.agents import agent_json
from kubewatch.api.alerts import alert_json
from kubewatch.repository import agents, alert_state
from kubewatch.web import blp, page


def public_url():
    """Return this server's URL: EXTERNAL_URL, else as the browser reached it (through a trusted proxy, prefix included)."""
    return (current_app.config["EXTERNAL_URL"] or request.url_root).rstrip("/")


def summary(listed):
    """Return the counts at the top of the agents page."""
    counts = {"connected": 0, "disconnected": 0, "pending": 0, "running": 0, "containers": 0}
    for agent in listed:
        counts[agent["status"]] += 1
        counts["containers"] += agent["containerCount"]
        counts["running"] += agent["runningCount"]
    counts["stopped"] = counts["containers"] - counts["running"]
    return counts


def firing(user, agent_id=None):
    """Return the organization's firing alerts (of one agent, when given) as GET /api/v1/alerts shows them."""
    return [alert_json(alert) for alert in alert_state.alerts_for_org(user["org_id"], "firing")
            if agent_id is None or alert["agent_id"] == agent_id]


@blp.get("/", endpoint="agents")
@page()
def agents_page(user):
    """List the organization's agents, refreshed by the page every push interval."""
    now, interval = int(time.time()), current_app.config["PUSH_INTERVAL_SECONDS"]
    listed = [agent_json(agent, now, interval) for agent in agents.agents_for_org(user["org_id"])]
    return render_template("agents.html", user=user, agents=listed, summary=summary(listed),
                           public_url=public_url(), firing=firing(user))


@blp.get("/agents/<agent_id>", endpoint="agent")
@page()
def agent_page(agent_id, user):
    """Show one agent: its containers (or nodes and pods) and their charts."""
    agent = agents.agent_for_org(user["org_id"], agent_id)
    if agent is None:
        abort(404, f"Agent {agent_id} doesn't exist.")
    interval = current_app.config["PUSH_INTERVAL_SECONDS"]
    return render_template("agent.html", user=user, agent=agent_json(agent, int(time.time()), interval),
                           detail=agent, firing=firing(user, agent_id))


@blp.get("/alerts", endpoint="alerts")
@page()
def alerts_page(user):
    """Show what fires, the history, the rules, channels and silences; admins also get the forms that change them."""
    choices = {"agents": [{"id": a["id"], "name": a["name"]} for a in agents.agents_for_org(user["org_id"])],
               "kinds": list(KINDS), "thresholdKinds": sorted(THRESHOLD_KINDS)}
    return render_template("alerts.html", user=user, choices=choices)


@blp.get("/keys", endpoint="keys")
@page(role="admin")
def keys_page(user):
    """Create, list and revoke API keys."""
    return render_template("keys.html", user=user, public_url=public_url())


@blp.get("/users", endpoint="users")
@page(role="admin")
def users_page(user):
    """Invite users, change their roles and passwords, remove them."""
    return render_template("users.html", user=user)


@blp.get("/account", endpoint="account")
@page()
def account_page(user):
    """Change one's own password."""
    return render_template("account.html", user=user)
