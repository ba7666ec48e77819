"""The kubewatch-agent command: read the settings, choose a collector, then push once or until stopped."""

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from kubewatch_agent import __version__
from kubewatch_agent.backlog import DEFAULT_SECONDS
from kubewatch_agent.client import ServerClient, ServerError
from kubewatch_agent import identity
from kubewatch_agent.collectors import PLATFORMS, CollectorUnavailable, MissingLibrary, detect_platform, make_collector
from kubewatch_agent.instance import MACHINE_ID, default_state_dir, instance_id
from kubewatch_agent.loop import Agent
from kubewatch_agent.sample import Sampler
from kubewatch_agent.urls import BadURL, server_url

log = logging.getLogger("kubewatch_agent")

FAILED, USAGE = 1, 2


class SettingError(Exception):
    """A setting is missing or cannot be read."""


def parser(environ):
    """Return the command line parser; defaults come from the KUBEWATCH_* environment."""
    found = argparse.ArgumentParser(
        prog="kubewatch-agent",
        description="Register with a kubewatch server, then push container, node and pod metrics "
                    "every pushIntervalSeconds the server sets.")
    found.add_argument("--url", default=environ.get("KUBEWATCH_URL"),
                       help="the server, e.g. http://monitor.lan:8080 (env KUBEWATCH_URL)")
    found.add_argument("--api-key", help="an ingest API key, kw_live_... (env KUBEWATCH_API_KEY); "
                                         "a file keeps it out of the process list")
    found.add_argument("--api-key-file", help="a file that holds the API key (env KUBEWATCH_API_KEY_FILE)")
    found.add_argument("--name", default=environ.get("KUBEWATCH_AGENT_NAME") or identity.hostname(environ),
                       help="the agent's name on the server (env KUBEWATCH_AGENT_NAME; default: the hostname, "
                            "or machine- and the machine id of KUBEWATCH_MACHINE_ID_FILE)")
    found.add_argument("--platform", choices=PLATFORMS,
                       help="what to collect (default: kubernetes in a pod, docker where a Docker Engine "
                            "is configured or its socket exists, else host)")
    found.add_argument("--interfaces", type=interface_names,
                       default=interface_names(environ.get("KUBEWATCH_INTERFACES")),
                       help="the network interfaces to count the machine's traffic on, e.g. eth0,eth1 "
                            "(env KUBEWATCH_INTERFACES; default: every one the kernel does not list as virtual)")
    found.add_argument("--state-dir", default=environ.get("KUBEWATCH_STATE_DIR"),
                       help="where the agent keeps its instance id when the machine has none "
                            "(env KUBEWATCH_STATE_DIR; default: ~/.local/state/kubewatch-agent)")
    found.add_argument("--once", action="store_true",
                       help="collect and push one sample, then exit: 0 when the server took it")
    found.add_argument("--dry-run", action="store_true",
                       help="print the push body that would be sent, without contacting the server")
    found.add_argument("--backlog-seconds", type=int, default=DEFAULT_SECONDS,
                       help="how much time of pushes to keep while the server is unreachable (default: %(default)s)")
    found.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                       help="default: INFO, or WARNING with --once and --dry-run")
    found.add_argument("--version", action="version", version=f"kubewatch-agent {__version__}")
    return found


def interface_names(listed):
    """Return the names of a comma-separated list, or None for an empty one (then the physical interfaces count)."""
    return [name.strip() for name in (listed or "").split(",") if name.strip()] or None


def api_key(args, environ):
    """Return the API key: flags before environment, a key before a key file; None when there is none."""
    for key, path in ((args.api_key, args.api_key_file),
                      (environ.get("KUBEWATCH_API_KEY"), environ.get("KUBEWATCH_API_KEY_FILE"))):
        if key:
            return key.strip()
        if path:
            try:
                key = Path(path).read_text().strip()
            except OSError as error:
                raise SettingError(f"cannot read the API key file {path}: {error.strerror}") from None
            if not key:
                raise SettingError(f"the API key file {path} is empty")
            return key
    return None


def main(argv=None, environ=None):
    """Run the command; return its exit status."""
    environ = os.environ if environ is None else environ
    command = parser(environ)
    args = command.parse_args(argv)
    quiet = args.once or args.dry_run
    logging.basicConfig(level=args.log_level or ("WARNING" if quiet else "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s kubewatch-agent: %(message)s")
    platform = args.platform or detect_platform(environ)
    try:
        collector = make_collector(platform, interfaces=args.interfaces)
    except MissingLibrary as error:
        return fail(error, USAGE)
    if args.dry_run:
        body, trouble = Sampler(collector).collect()
        print(json.dumps(body, indent=2))
        return 0 if trouble is None else fail(trouble, FAILED)
    try:
        key = api_key(args, environ)
    except SettingError as error:
        return fail(error, USAGE)
    if not args.url or not key:
        command.error("the server's URL and an API key are needed: --url and --api-key, "
                      "or KUBEWATCH_URL and KUBEWATCH_API_KEY (or KUBEWATCH_API_KEY_FILE)")
    try:
        url = server_url(args.url)
    except BadURL as error:
        return fail(error, USAGE)
    who = {"name": args.name, "hostname": identity.hostname(environ), "version": __version__, "platform": platform}
    found = instance_id(platform, args.state_dir or default_state_dir(environ),
                        machine_id=environ.get("KUBEWATCH_MACHINE_ID_FILE") or MACHINE_ID,
                        cluster_uid=getattr(collector, "namespace_uid", None))
    if found:
        who["instanceId"] = found
    client = ServerClient(url, key)
    agent = Agent(client, collector, who, backlog_seconds=args.backlog_seconds)
    try:
        return push_once(agent) if args.once else run_until_stopped(agent)
    finally:
        client.close()


def push_once(agent):
    """Push one sample; print what was pushed, or a one-line reason and return non-zero."""
    try:
        body = agent.once()
    except (ServerError, CollectorUnavailable) as error:
        return fail(error, FAILED)
    print(f"pushed {len(body['containers'])} containers, {len(body['nodes'])} nodes and {len(body['pods'])} pods "
          f"as {agent.registration.agent_id}")
    return 0


def run_until_stopped(agent):
    """Run the loop until SIGTERM or SIGINT; the push in flight is finished first; return 0."""
    stop, received = threading.Event(), []

    def on_signal(signum, frame):
        # Only set the flag here: logging from a signal handler can interleave with a line being written.
        received.append(signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    log.info("kubewatch-agent %s starting: server %s, platform %s, name %s", __version__, agent.client.url,
             agent.identity["platform"], agent.identity["name"])
    agent.run(stop)
    log.info("stopped on %s", received[0] if received else "request")
    return 0


def fail(reason, status):
    """Print reason as the command's one-line error and return status."""
    print(f"kubewatch-agent: {reason}", file=sys.stderr)
    return status
