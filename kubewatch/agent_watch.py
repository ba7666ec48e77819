"""What the server notices about an agent while it pushes, logged once rather than on every push.

Figures that cannot be true, an agent's clock far off the server's, two installations pushing as
one agent. Kept in memory per process: a restarted server says each thing once more.
"""

import logging
import threading
import time
from collections import deque

from flask import current_app

from kubewatch.logsafe import shown

log = logging.getLogger("kubewatch.agents")

# Past this many seconds off, an agent's clock is worth a line in the log.
SKEW_WORTH_LOGGING = 30
# Registrations of one agent remembered as superseded: a push with one of them means another installation.
_SUPERSEDED = 8
# Seconds of an agent's latest pushes whose registration is remembered: a push for one of them
# from another registration is another installation's, not a retry.
_REMEMBERED_SECONDS = 64
_GIVE_EACH = "give each its own --name, or let each send its instanceId (an agent of this version does)"


class AgentWatch:
    """Per agent, what was already said."""

    def __init__(self):
        self._lock = threading.Lock()
        self._said = set()  # (agent id, what)
        self._skewed = set()  # agents whose clock was last logged as off
        self._registrations = {}  # agent id: [current registration, deque of superseded ones]
        self._stored_by = {}  # agent id: {ts: registration whose push stored it}, within _REMEMBERED_SECONDS

    def stored_by_other(self, agent_id, ts, registration):
        """Tell whether the agent's push for ts was stored from another registration's token than this one."""
        stored = self._stored_by.get(agent_id)
        by = stored.get(ts) if stored else None
        return by is not None and registration is not None and by != registration

    def pushed(self, agent_id, ts, registration, outcome):
        """Note a push of the agent stored as outcome (pushes.Outcome); log once when two installations push as it.

        Two are told apart by their tokens' registrations: one installation only ever moves on to a
        newer registration (its token expired), so a push with a superseded one means another.
        """
        if registration is None:
            return
        with self._lock:
            if not (outcome.retried or outcome.merged):
                stored = self._stored_by.setdefault(agent_id, {})
                stored[ts] = registration
                # Seconds, not pushes: 64 pushes an agent were 100 MB at 10,000 agents pushing every 15 s.
                oldest = max(stored) - _REMEMBERED_SECONDS
                for older in [kept for kept in stored if kept < oldest]:
                    del stored[older]
            entry = self._registrations.get(agent_id)
            alternating = False
            if entry is None:
                self._registrations[agent_id] = [registration, deque(maxlen=_SUPERSEDED)]
            elif registration != entry[0]:
                alternating = registration in entry[1]
                entry[1].append(entry[0])
                entry[0] = registration
        if alternating:
            self.once(agent_id, "installs", "two installations push as this one agent, the tokens of two "
                      "registrations taking turns: %s", _GIVE_EACH)
        if outcome.merged:
            self.once(agent_id, "merged", "another installation pushed for the same second as a push stored (%s): "
                      "its objects were added to that push, none lost; %s",
                      time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)), _GIVE_EACH)

    def clock(self, agent_id, skew):
        """Log when the agent's clock skew passes SKEW_WORTH_LOGGING seconds, and when it is back within."""
        if skew is None:
            return  # not measured by this push (a retry)
        off = abs(skew) > SKEW_WORTH_LOGGING
        if off == (agent_id in self._skewed):
            return  # as last logged: the steady push takes no lock
        with self._lock:
            if off == (agent_id in self._skewed):
                return
            (self._skewed.add if off else self._skewed.discard)(agent_id)
        if off:
            log.warning("agent %s: its clock is %d s %s the server's: its lists follow its pushes as received, "
                        "its samples keep their own timestamps; check its clock (NTP)", shown(agent_id), abs(skew),
                        "ahead of" if skew > 0 else "behind")
        else:
            log.info("agent %s: its clock is within %d s of the server's again", shown(agent_id), SKEW_WORTH_LOGGING)

    def once(self, agent_id, what, message, *args):
        """Log message % args as a warning about the agent, the first time only for this what."""
        with self._lock:
            if (agent_id, what) in self._said:
                return
            self._said.add((agent_id, what))
        log.warning("agent %s: " + message, shown(agent_id), *args)

    def impossible_figures(self, agent_id, impossible):
        """Log, once per agent, that figures of its pushes cannot be true and were stored as not measured."""
        first = impossible[0]
        self.once(agent_id, "impossible", "pushed figures that cannot be true, stored as not measured: this push "
                  "%d, such as %s %s %s %s (%s); further ones are not logged", len(impossible), first.kind[:-1],
                  shown(first.identity), first.field, shown(first.value), first.why)

    def forget(self, agent_id):
        """Forget what was said of an agent, once it is deleted."""
        with self._lock:
            self._said = {said for said in self._said if said[0] != agent_id}
            self._skewed.discard(agent_id)
            self._registrations.pop(agent_id, None)
            self._stored_by.pop(agent_id, None)


def init_app(app):
    """Give app its own watch."""
    app.extensions["kubewatch.agent_watch"] = AgentWatch()


def watch():
    """Return the current app's AgentWatch."""
    return current_app.extensions["kubewatch.agent_watch"]

