"""What one agent may push: pushes per interval, objects per push, objects described, and room in the database.

Sized by default for an agent watching a 10,000-pod cluster (see config.example.toml), so that one
agent, broken or hostile, cannot take the memory, the disk or the writer from the others.
"""

import math
import threading
import time

import msgspec
from flask import current_app

from kubewatch.repository import health

# Set in a push's WSGI environ once the shortcut has counted it against its agent's rate.
RATE_SPENT = "kubewatch.push_rate_spent"
# How long a measured database size is trusted: measuring on every push would cost a query each.
SIZE_CHECK_SECONDS = 5
# New descriptions are refused from this share of DATABASE_SIZE_LIMIT_MB on, leaving the rest for samples.
NEAR_FULL = 0.9


class PushRefused(Exception):
    """A push this server will not take: status is the HTTP status to answer, field the body's field, if any."""

    def __init__(self, status, message, field=None, retry_after=None):
        super().__init__(message)
        self.status, self.field, self.retry_after = status, field, retry_after


class PushRate:
    """Token buckets per agent: PUSHES_PER_INTERVAL pushes at once, refilled over PUSH_INTERVAL_SECONDS, and
    OBJECTS_PER_INTERVAL objects likewise.

    A push's objects are known once it is loaded: they are spent then, and may take the agent's
    objects below zero; its next push is refused until they are paid back. So an agent pushing
    20,000 objects a push gets two such pushes an interval by default, not thirty, and a push
    refused for it is never read.
    """

    def __init__(self, per_interval, interval, objects_per_interval=math.inf, clock=time.monotonic):
        self.capacity, self.refill = per_interval, per_interval / interval
        self.object_capacity, self.object_refill = objects_per_interval, objects_per_interval / interval
        self.clock = clock
        self._buckets = {}  # {agent_id: (tokens, as of)}
        self._objects = {}  # {agent_id: (objects, as of)}
        self._lock = threading.Lock()

    def take(self, agent_id):
        """Spend one push of the agent's; return 0, or the seconds until it may push again (nothing spent)."""
        now = self.clock()
        with self._lock:
            tokens, since = self._buckets.get(agent_id, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - since) * self.refill)
            if tokens < 1:
                self._buckets[agent_id] = (tokens, now)
                return max(1, math.ceil((1 - tokens) / self.refill))
            if len(self._buckets) > 100_000:  # agents are few; ids from forged paths never get here
                self._buckets.clear()
                self._objects.clear()
            self._buckets[agent_id] = (tokens - 1, now)
            return 0

    def owed(self, agent_id):
        """Return 0, or the seconds until the agent has paid back the objects it spent past OBJECTS_PER_INTERVAL."""
        with self._lock:
            objects = self._objects_now(agent_id, self.clock())
        return 0 if objects >= 0 else max(1, math.ceil(-objects / self.object_refill))

    def spend_objects(self, agent_id, count):
        """Spend count objects of the agent's, below zero if need be."""
        now = self.clock()
        with self._lock:
            self._objects[agent_id] = (self._objects_now(agent_id, now) - count, now)

    def _objects_now(self, agent_id, now):
        objects, since = self._objects.get(agent_id, (self.object_capacity, now))
        return min(self.object_capacity, objects + (now - since) * self.object_refill)


class DatabaseSize:
    """The database's size in MB, measured at most every SIZE_CHECK_SECONDS."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._measured = (None, -math.inf)  # (size, when)

    def near_limit(self, limit_mb):
        """Tell whether the database holds NEAR_FULL of limit_mb or more; never when limit_mb is 0."""
        if not limit_mb:
            return False
        size, when = self._measured
        if self.clock() - when >= SIZE_CHECK_SECONDS:
            size = health.database_size() / 2**20
            self._measured = (size, self.clock())
        return size >= NEAR_FULL * limit_mb


def init_app(app):
    """Give app its push rate buckets and its database size watch."""
    app.extensions["kubewatch.push_limits"] = (
        PushRate(app.config["PUSHES_PER_INTERVAL"], app.config["PUSH_INTERVAL_SECONDS"],
                 app.config["OBJECTS_PER_INTERVAL"]), DatabaseSize())


def check_rate(agent_id):
    """Raise PushRefused (429) when the agent pushed more than PUSHES_PER_INTERVAL pushes or OBJECTS_PER_INTERVAL
    objects lately."""
    rate, _ = current_app.extensions["kubewatch.push_limits"]
    config = current_app.config
    wait = rate.owed(agent_id)
    if wait:
        raise PushRefused(429, f"More than {config['OBJECTS_PER_INTERVAL']} containers, nodes and pods in "
                               f"{config['PUSH_INTERVAL_SECONDS']} s from this agent (objects_per_interval): "
                               f"retry after {wait} s.", retry_after=wait)
    wait = rate.take(agent_id)
    if wait:
        raise PushRefused(429, f"More than {config['PUSHES_PER_INTERVAL']} pushes in "
                               f"{config['PUSH_INTERVAL_SECONDS']} s from this agent: retry after {wait} s.",
                          retry_after=wait)


def spend_objects(agent_id, body):
    """Spend the loaded push's containers, nodes and pods from the agent's OBJECTS_PER_INTERVAL."""
    rate, _ = current_app.extensions["kubewatch.push_limits"]
    rate.spend_objects(agent_id, len(body.containers) + len(body.nodes) + len(body.pods))


def check_size(body):
    """Raise PushRefused (413) when the loaded push holds more objects than MAX_OBJECTS_PER_PUSH."""
    _refuse_past_limit(len(body.containers) + len(body.nodes) + len(body.pods))


def check_count(raw):
    """Raise PushRefused (413), as check_size would once loaded, when a push body's bytes hold more objects than
    MAX_OBJECTS_PER_PUSH; a body this cannot read is left to the loader.

    Counted without decoding the objects: a refused 1 MiB body of 36,000 objects costs about 2 ms
    rather than the 50 ms (held on the GIL, in one call) of decoding and checking each of them.
    """
    if raw.count(b"{") <= current_app.config["MAX_OBJECTS_PER_PUSH"]:  # each object opens one: no more objects
        return
    try:
        counted = _COUNTING.decode(raw)
    except (ValueError, RecursionError):  # msgspec's errors are ValueErrors: the loader says what is wrong
        return
    _refuse_past_limit(len(counted.containers) + len(counted.nodes) + len(counted.pods))


class _Counted(msgspec.Struct):
    """A push's lists of objects, each left as its undecoded bytes; other fields are skipped unread."""
    containers: list[msgspec.Raw] = []
    nodes: list[msgspec.Raw] = []
    pods: list[msgspec.Raw] = []


_COUNTING = msgspec.json.Decoder(_Counted)


def _refuse_past_limit(count):
    limit = current_app.config["MAX_OBJECTS_PER_PUSH"]
    if count > limit:
        raise PushRefused(413, f"This push holds {count} containers, nodes and pods: at most {limit} are taken "
                               "in one push (max_objects_per_push).")


def describe_new():
    """Tell whether new objects may be described: not once the database nears DATABASE_SIZE_LIMIT_MB."""
    _, size = current_app.extensions["kubewatch.push_limits"]
    return not size.near_limit(current_app.config["DATABASE_SIZE_LIMIT_MB"])
