"""One run of the evaluator: find what each rule's condition holds for, then fire, remind and resolve.

Every change of a run (alerts, the messages owed to channels, containers followed) is one
transaction: a fire or resolve is queued exactly when its alert changes, so it is sent once
even across restarts. Runs on a timer (kubewatch/alerting/timer.py), never on the push path.
"""

import itertools
import time
from typing import NamedTuple

from kubewatch.alerting.conditions import WINDOW_KINDS, find
from kubewatch.alerting.messages import compose
from kubewatch.alerting.observe import Observer
from kubewatch.alerting.watch import follow
from kubewatch.credentials import new_id
from kubewatch.db import read
from kubewatch.kinds import CONTAINERS
from kubewatch.repository import alert_state

_RESTARTS = CONTAINERS.measured.index("restart_count")
_order = itertools.count()


def _measured(count):
    return None if count == -1 else count  # -1: not measured, as packed


class Outcome(NamedTuple):
    fired: int
    resolved: int
    queued: int  # messages owed to channels


class Evaluator:
    """Evaluates every enabled rule; keeps what it read of the agents between runs."""

    def __init__(self):
        self.observer = Observer()
        self.watched = None  # {agent_id: {name: Watched}}, loaded from the database on the first run
        self.followed = {}  # {agent_id: ts of the push its containers were last followed from}
        # {agent_id: (its present containers, their restart counts)} as last followed: the same again
        # cannot change what is known of them, so they are not followed again.
        self.followed_from = {}

    def run(self, config, now):
        """Evaluate every enabled rule at now (epoch seconds) and store the changes; return the Outcome."""
        try:
            return self._run(config, now)
        except BaseException:
            self.__init__()  # memory may be ahead of the database: read it all again next time
            raise

    def _run(self, config, now):
        interval = config["PUSH_INTERVAL_SECONDS"]
        with read() as conn:
            rules, open_alerts, silences = alert_state.evaluation_inputs(conn, now)
            if not open_alerts and not any(rule["enabled"] for rule in rules):
                return Outcome(0, 0, 0)  # nothing to watch: the pushes are not read at all
            windows = [r["for_seconds"] for r in rules if r["enabled"] and r["kind"] in WINDOW_KINDS]
            agents = self.observer.refresh(conn, max(windows, default=0) + 2 * interval)
            if self.watched is None:
                self.watched = alert_state.watched_containers(conn)
        followed = self._follow(agents, now)
        findings = self._find([r for r in rules if r["enabled"]], agents, now, interval)
        changes = _Changes(config.get("EXTERNAL_URL", ""), agents, silences, now)
        by_id = {rule["id"]: rule for rule in rules}
        for key, (rule, finding) in findings.items():
            changes.holds(rule, open_alerts.get(key), key, finding)
        for key, alert in open_alerts.items():
            if key not in findings:
                changes.ended(by_id.get(alert["rule_id"]), alert)
        alert_state.apply(changes.new, changes.changed, changes.deliveries, followed, now)
        return Outcome(changes.fired, changes.resolved, len(changes.deliveries))

    def _follow(self, agents, now):
        """Follow the containers of each agent with a push not followed yet; return the changes to store."""
        changed = []
        self.watched = {agent_id: known for agent_id, known in self.watched.items() if agent_id in agents}
        self.followed_from = {agent_id: seen for agent_id, seen in self.followed_from.items() if agent_id in agents}
        for agent in agents.values():
            if agent.read_through is None or self.followed.get(agent.id) == agent.read_through:
                continue
            self.followed[agent.id] = agent.read_through
            present, restarts = agent.present["containers"], agent.columns["containers"]
            restarts = restarts[_RESTARTS] if restarts else None
            before = self.followed_from.get(agent.id)
            if before is not None and before[0] is present and before[1] == restarts:
                continue  # the same containers in the same states and restart counts: nothing to follow
            self.followed_from[agent.id] = (present, restarts)
            known = self.watched.get(agent.id, {})
            latest = agent.latest["containers"]
            pushed = [(d, _measured(latest[key][_RESTARTS])) for key, _, d in agent.present["containers"]]
            now_known = follow(known, pushed, now)
            changed += [(agent.id, name, w) for name, w in now_known.items() if known.get(name) != w]
            self.watched[agent.id] = now_known
        return changed

    def _find(self, rules, agents, now, interval):
        by_org = {}
        for agent in agents.values():
            if agent.last_push_ts is not None:
                by_org.setdefault(agent.org_id, []).append(agent)
        findings = {}
        for rule in rules:
            if rule["agent_id"] is not None:
                agent = agents.get(rule["agent_id"])
                scope = [agent] if agent is not None and agent.last_push_ts is not None else []
            else:
                scope = by_org.get(rule["org_id"], ())
            for agent in scope:
                for (object_type, name), finding in find(rule, agent, self.watched.get(agent.id, {}),
                                                          now, interval).items():
                    findings[(rule["id"], agent.id, object_type, name)] = (rule, finding)
        return findings


class _Changes:
    """The alerts one run adds and changes, and the messages it owes."""

    def __init__(self, external_url, agents, silences, now):
        self.external_url, self.agents, self.silences, self.now = external_url, agents, silences, now
        self.new, self.changed, self.deliveries = [], [], []
        self.fired = self.resolved = 0

    def holds(self, rule, alert, key, finding):
        """The rule's condition holds for the object of key."""
        if alert is None:
            _, agent_id, object_type, name = key
            alert = {"id": new_id("alert"), "org_id": rule["org_id"], "rule_id": rule["id"], "rule_name": rule["name"],
                     "kind": rule["kind"], "agent_id": agent_id, "object_type": object_type, "object_name": name,
                     "value": finding.value, "threshold": rule["threshold"], "summary": finding.summary,
                     "started_at": self.now, "fired_at": None, "resolved_at": None, "notified_at": None}
            self.new.append(alert)
            if rule["kind"] in WINDOW_KINDS or rule["for_seconds"] == 0:
                self._fire(rule, alert, finding)
        elif alert["fired_at"] is None:
            if self.now - alert["started_at"] >= rule["for_seconds"]:
                self._fire(rule, alert, finding)
                self.changed.append(alert)
        elif not self._silenced(alert):
            repeat = rule["repeat_seconds"]
            if alert["notified_at"] is None:  # fired while silenced: told now the silence is over
                self._queue("fire", rule, alert)
                self.changed.append(alert)
            elif repeat and self.now - alert["notified_at"] >= repeat:
                alert.update(value=finding.value, summary=finding.summary)
                self._queue("reminder", rule, alert)
                self.changed.append(alert)

    def ended(self, rule, alert):
        """The condition of an open alert no longer holds (or its rule is disabled)."""
        if alert["fired_at"] is None:
            self.changed.append({**alert, "dropped": True})
            return
        alert["resolved_at"] = self.now
        self.resolved += 1
        if alert["notified_at"] is not None and rule is not None and not self._silenced(alert):
            self._queue("resolve", rule, alert)
        self.changed.append(alert)

    def _fire(self, rule, alert, finding):
        alert.update(fired_at=self.now, value=finding.value, summary=finding.summary)
        self.fired += 1
        if not self._silenced(alert):
            self._queue("fire", rule, alert)

    def _silenced(self, alert):
        return any(org_id == alert["org_id"] and agent_id in (None, alert["agent_id"])
                   and rule_id in (None, alert["rule_id"]) for org_id, agent_id, rule_id in self.silences)

    def _queue(self, event, rule, alert):
        if event != "resolve":
            alert["notified_at"] = self.now
        message = compose(event, alert, self.agents[alert["agent_id"]].name, self.external_url, self.now)
        for channel_id in rule["channels"]:
            self.deliveries.append({
                "id": new_id("dlv"), "alert_id": alert["id"], "channel_id": channel_id, "event": event,
                "title": message.title, "body": message.body, "notify_type": message.notify_type,
                "queued_ns": time.time_ns() + next(_order)})
