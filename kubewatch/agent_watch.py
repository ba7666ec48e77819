"""What the server notices about an agent while it pushes, logged once rather than on every push.

Figures that cannot be true, an agent's clock far off the server's, two installations pushing as
one agent. Kept in memory per process: a restarted server says each thing once more.
"""

import logging
import threading

from flask import current_app

from kubewatch.logsafe import shown

log = logging.getLogger("kubewatch.agents")

# Past this many seconds off, an agent's clock is worth a line in the log.
SKEW_WORTH_LOGGING = 30


class AgentWatch:
    """Per agent, what was already said."""

    def __init__(self):
        self._lock = threading.Lock()
        self._said = set()  # (agent id, what)
        self._skewed = set()  # agents whose clock was last logged as off

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
        log.warning("agent %s " + message, shown(agent_id), *args)

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


def init_app(app):
    """Give app its own watch."""
    app.extensions["kubewatch.agent_watch"] = AgentWatch()


def watch():
    """Return the current app's AgentWatch."""
    return current_app.extensions["kubewatch.agent_watch"]

