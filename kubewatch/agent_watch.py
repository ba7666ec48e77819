"""What the server notices about an agent while it pushes, logged once rather than on every push.

Figures that cannot be true, an agent's clock far off the server's, two installations pushing as
one agent. Kept in memory per process: a restarted server says each thing once more.
"""

import logging
import threading

from flask import current_app

from kubewatch.logsafe import shown

log = logging.getLogger("kubewatch.agents")


class AgentWatch:
    """Per agent, what was already said."""

    def __init__(self):
        self._lock = threading.Lock()
        self._said = set()  # (agent id, what)

    def once(self, agent_id, what, message, *args):
        """Log message % args as a warning about the agent, the first time only for this what."""
        with self._lock:
            if (agent_id, what) in self._said:
                return
            self._said.add((agent_id, what))
        log.warning("agent %s " + message, shown(agent_id), *args)

    def forget(self, agent_id):
        """Forget what was said of an agent, once it is deleted."""
        with self._lock:
            self._said = {said for said in self._said if said[0] != agent_id}


def init_app(app):
    """Give app its own watch."""
    app.extensions["kubewatch.agent_watch"] = AgentWatch()


def watch():
    """Return the current app's AgentWatch."""
    return current_app.extensions["kubewatch.agent_watch"]


def impossible_figures(agent_id, impossible):
    """Log, once per agent, that figures of its pushes cannot be true and were stored as not measured."""
    if impossible:
        first = impossible[0]
        watch().once(agent_id, "impossible", "pushed figures that cannot be true, stored as not measured: this push "
                     "%d, such as %s %s %s %s (%s); further ones are not logged", len(impossible), first.kind[:-1],
                     shown(first.identity), first.field, shown(first.value), first.why)
