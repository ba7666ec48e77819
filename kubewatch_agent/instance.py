"""The installation's stable id, sent as instanceId: the server knows the agent by it, not by its name.

Derived from what identifies the installation and survives restarts: /etc/machine-id on a host or
Docker host (with the platform, so a host and a docker agent on one machine are two agents), the
UID of the kube-system namespace in a cluster (the same for every pod of the agent), else a random
value kept in a state file. The machine id is hashed: systemd asks that it never be shown as it is.
"""

import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path

from kubewatch_agent.collectors import CollectorUnavailable

log = logging.getLogger("kubewatch_agent")

MACHINE_ID = Path("/etc/machine-id")
STATE_FILE = "instance-id"
_MACHINE_ID_FORMAT = re.compile(r"[0-9a-f]{32}")


def default_state_dir(environ):
    """Return where the agent keeps its state: $XDG_STATE_HOME/kubewatch-agent, else ~/.local/state/kubewatch-agent."""
    base = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "kubewatch-agent"


def instance_id(platform, state_dir, machine_id=MACHINE_ID, cluster_uid=None):
    """Return the installation's id (32 hex characters), or None when nothing stable can be found or kept.

    cluster_uid() returns the kube-system namespace's UID, or None when not allowed; it is asked on the
    kubernetes platform. A cluster that cannot be reached (CollectorUnavailable) gives None: a kept id
    would then differ in every new pod, and the collector says what is wrong.
    """
    if platform == "kubernetes" and cluster_uid is not None:
        try:
            uid = cluster_uid()
        except CollectorUnavailable:
            return None
        if uid:
            return _derived(platform, uid)
        log.warning("cannot read the kube-system namespace's UID (the agent's role needs get on namespaces): "
                    "using a kept instance id instead")
    if platform != "kubernetes":
        found = _machine_id(machine_id)
        if found:
            return _derived(platform, found)
    kept = _kept(Path(state_dir) / STATE_FILE)
    return _derived(platform, kept) if kept else None


def _derived(platform, source):
    return hmac.new(source.encode(), f"kubewatch-agent {platform}".encode(), hashlib.sha256).hexdigest()[:32]


def _machine_id(path):
    """Return the machine id of path, or None when it is missing, empty or not one (an unset image's)."""
    try:
        found = Path(path).read_text().strip().lower()
    except OSError:
        return None
    return found if _MACHINE_ID_FORMAT.fullmatch(found) and found != "0" * 32 else None


def _kept(path):
    """Return the random id kept in path, writing a new one on first use; None (logged) when it cannot be kept."""
    try:
        found = path.read_text().strip()
        if found:
            return found
    except FileNotFoundError:
        pass
    except OSError as error:
        log.warning("cannot read the instance id in %s (%s): the server will know this agent by name and hostname",
                    path, error.strerror)
        return None
    made = secrets.token_hex(16)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(made + "\n")
        try:
            os.link(draft, path)  # written whole, then linked: when two start at once, the first wins for both
        except FileExistsError:
            made = path.read_text().strip()
        finally:
            draft.unlink()
    except OSError as error:
        log.warning("cannot keep an instance id in %s (%s): the server will know this agent by name and hostname; "
                    "give it a writable --state-dir", path, error.strerror)
        return None
    return made
