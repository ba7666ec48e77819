"""Who the agent is to the server: its hostname, stable even when the agent runs in a container."""

import os
import socket
from pathlib import Path


def hostname(environ=os.environ):
    """Return the hostname to register with: machine- and the machine id when KUBEWATCH_MACHINE_ID_FILE names one.

    A container's own hostname is its id, new on every `docker compose up`: the server would see a
    new agent, without the history, each time. The host's /etc/machine-id, mounted read-only, stays.
    The agent's image sets KUBEWATCH_MACHINE_ID_FILE=/etc/machine-id; without the mount (the file
    missing or empty) the container's hostname is used.
    """
    path = environ.get("KUBEWATCH_MACHINE_ID_FILE")
    if path:
        try:
            found = Path(path).read_text().strip()
        except OSError:
            found = ""
        if found:
            return f"machine-{found[:12]}"
    return socket.gethostname()
