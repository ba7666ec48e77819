"""Helpers to run the agent's loop in a thread against a server, recording what happened."""

import copy
import threading
import time

from kubewatch_agent.backoff import Backoff
from kubewatch_agent.client import Refused, ServerClient, Unreachable
from kubewatch_agent.loop import Agent
from polling import wait_until

IDENTITY = {"name": "prod-web", "hostname": "prod-web-01", "version": "1.4.2", "platform": "docker"}
CONTAINERS = [
    {"id": "a1b2c3d4e5f6", "name": "nginx-prod", "image": "nginx:1.25", "status": "running", "cpuPercent": 12.4,
     "memoryMB": 48, "memoryLimitMB": 512, "networkRxBytes": 10240, "networkTxBytes": 8192, "restartCount": 0},
    {"id": "b2c3d4e5f6a1", "name": "redis", "image": "redis:7", "status": "running", "cpuPercent": 1.5,
     "memoryMB": 12.5, "memoryLimitMB": 256, "networkRxBytes": 2048, "networkTxBytes": 1024, "restartCount": 1},
]


class FixedCollector:
    """A collector that always finds the same two containers, and remembers when it was asked."""

    platform = "docker"

    def __init__(self):
        self.times = []

    def collect(self):
        self.times.append(time.monotonic())
        return {"containers": copy.deepcopy(CONTAINERS)}


class RecordingClient(ServerClient):
    """The real client, remembering each call: ("register", outcome) or ("push", outcome, timestamp)."""

    def __init__(self, url, api_key):
        super().__init__(url, api_key)
        self.events = []
        self.registrations = []

    def register(self, identity):
        try:
            registration = super().register(identity)
        except (Refused, Unreachable) as error:
            self.events.append(("register", getattr(error, "status", "unreachable")))
            raise
        self.events.append(("register", 200))
        self.registrations.append(registration)
        return registration

    def push(self, registration, body, keep_alive=True):
        try:
            super().push(registration, body, keep_alive)
        except (Refused, Unreachable) as error:
            self.events.append(("push", getattr(error, "status", "unreachable"), body["timestamp"]))
            raise
        self.events.append(("push", 200, body["timestamp"]))

    def pushed(self):
        """Return the timestamps the server took, in the order it took them."""
        return [event[2] for event in self.events if event[:2] == ("push", 200)]


class RunningAgent:
    """An agent's loop in a thread, with short backoff, until the with block ends."""

    def __init__(self, url, api_key, **options):
        self.client = RecordingClient(url, api_key)
        self.collector = FixedCollector()
        self.agent = Agent(self.client, self.collector, dict(IDENTITY), backoff=Backoff(base=0.1, cap=0.5),
                           **options)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop,))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.thread.join(timeout=10)
        self.client.close()

    def wait_for(self, condition, timeout=10.0):
        """Wait until condition() is true; fail after timeout seconds."""
        wait_until(condition, "the agent's loop to get there", timeout, every=0.05, alive=self.thread.is_alive,
                   explain=lambda: f"events: {self.client.events}")

