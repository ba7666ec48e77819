"""The words of a message: what fired or resolved, where, the value against the threshold, since when."""

import time
from typing import NamedTuple


class Message(NamedTuple):
    title: str
    body: str
    notify_type: str  # Apprise's: failure for a fire or reminder, success for a resolve


def _when(ts):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _duration(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def compose(event, alert, agent_name, external_url, now):
    """Return the Message for event ("fire", "reminder" or "resolve") of an alert row, at now (epoch seconds).

    The link to the agent's dashboard page is there only when external_url is set.
    """
    where = alert["object_name"] if alert["object_type"] == "agent" else f"{alert['object_name']} on {agent_name}"
    state = {"fire": "FIRING", "reminder": "STILL FIRING", "resolve": "RESOLVED"}[event]
    lines = [alert["summary"] if event != "resolve" else f"Resolved: {alert['summary']}",
             f"Rule: {alert['rule_name']} ({alert['kind']})",
             f"Agent: {agent_name}",
             f"Object: {alert['object_type']} {alert['object_name']}"]
    if alert["threshold"] is not None and alert["value"] is not None:
        lines.append(f"Value: {alert['value']:g} (threshold {alert['threshold']:g})")
    elif alert["value"] is not None:
        lines.append(f"Value: {alert['value']:g}")
    lines.append(f"Started: {_when(alert['started_at'])}")
    if event == "resolve":
        lines.append(f"Resolved: {_when(now)}, after {_duration(now - alert['started_at'])}")
    if external_url:
        lines.append(f"{external_url.rstrip('/')}/agents/{alert['agent_id']}")
    return Message(f"[kubewatch] {state}: {alert['rule_name']}: {where}", "\n".join(lines),
                   "success" if event == "resolve" else "failure")
