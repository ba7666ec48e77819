"""What the evaluator knows of each agent: its latest objects and a short window of their pushes.

Kept in memory between runs and brought up to date from the pushes each agent made since the
last run, so a run reads the new pushes and nothing older. A fresh process (or a new leader)
reads each agent's last `window` seconds once. Per push it keeps what the rules average
(CPU %, memory %) by object, computed once when read.
"""

from collections import deque
from typing import NamedTuple

from kubewatch import packing
from kubewatch.kinds import KINDS
from kubewatch.repository.alert_window import Window
_COLUMNS = {name: kind.identity + kind.described for name, kind in KINDS.items()}
_INDEX = {name: {metric.column: i for i, metric in enumerate(kind.metrics)} for name, kind in KINDS.items()}


def metric_index(kind, column):
    """Return where a metric's value sits in a sample's values."""
    return _INDEX[kind][column]


class Pushed(NamedTuple):
    """One push of one kind, as the rules read it: a column per metric, in the order of keys."""

    ts: int
    keys: tuple
    cpu: list  # CPU %, NaN when not measured
    memory: list  # memory % of the limit (a node's: of its capacity), NaN when not known
    # The highest of each column, NaN when none was measured: no average over pushes whose peaks
    # are all at or below a threshold can be above it, so those pushes need no average.
    cpu_peak: float
    memory_peak: float


def peak(column):
    """Return the highest value of a column that is not NaN, or NaN when it has none."""
    # max() keeps its first item against NaNs (they compare False), so only a NaN first needs the slow way.
    top = max(column, default=_NAN)
    return top if top == top else max((value for value in column if value == value), default=_NAN)


def object_name(kind, description):
    """Return the name rules match and alerts show: a pod's is namespace/name."""
    return f"{description['namespace']}/{description['name']}" if kind == "pods" else description["name"]


class Agent:
    """One agent as last read: its row, and per kind its objects' descriptions, latest values and pushes."""

    __slots__ = ("id", "org_id", "name", "last_seen", "last_push_ts", "read_through", "described", "latest",
                 "pushes", "described_through", "max_key", "present", "names", "present_by_name", "columns")

    def __init__(self, row):
        self.id, self.org_id, self.name, self.last_seen, self.last_push_ts = row
        self.read_through = None  # ts of the newest push read
        self.described = {name: {} for name in KINDS}  # {key: {column: value}}
        self.latest = {name: {} for name in KINDS}  # {key: values of the latest push, in kind.metrics' order}
        self.pushes = {name: deque() for name in KINDS}  # Pushed, oldest first
        self.present = {name: [] for name in KINDS}  # (key, name, description) of the latest push's objects
        self.names = {name: {} for name in KINDS}  # {key: name} of the same
        self.present_by_name = {name: {} for name in KINDS}  # {name: description} of the same
        self.columns = {name: () for name in KINDS}  # the latest push's columns, in the order of kind.metrics
        self.described_through = {name: -1 for name in KINDS}
        self.max_key = {name: 0 for name in KINDS}


class Observer:
    """The agents as the evaluator last saw them, kept up to date by refresh()."""

    def __init__(self):
        self.agents = {}

    def refresh(self, conn, window):
        """Read what changed since the last refresh; return {agent_id: Agent}.

        window: seconds of pushes to keep before each agent's latest (the longest average of a rule).
        """
        seen = {}
        reading = Window(conn)
        for row in reading.agents():
            agent = self.agents.get(row[0])
            if agent is None or (agent.read_through is not None and row[4] is not None and row[4] < agent.read_through):
                # New, or its state now follows a push stamped before the newest read: its clock ran
                # ahead and was set right. Pushes stamped after its latest are not its present.
                agent = Agent(row)
            else:
                agent.org_id, agent.name, agent.last_seen, agent.last_push_ts = row[1:]
            seen[agent.id] = agent
            if agent.last_push_ts is not None and (agent.read_through is None
                                                   or agent.last_push_ts > agent.read_through):
                _read_new_pushes(reading, agent, window)
        self.agents = seen  # deleted agents are forgotten
        return seen


_CPU = {name: _INDEX[name]["cpu_percent"] for name in KINDS}
_MEMORY = {name: _INDEX[name]["memory_mb"] for name in KINDS}
_LIMIT = {name: _INDEX[name].get("memory_limit_mb") for name in KINDS}


_NAN = float("nan")


def _read_new_pushes(reading, agent, window):
    start = agent.last_push_ts - window - 1
    if agent.read_through is not None:
        start = max(start, agent.read_through)
    rows = reading.pushes_after(agent.id, start, agent.last_push_ts)
    if not rows:
        return
    for position, name in enumerate(KINDS, start=1):
        if not agent.pushes[name] and all(row[position] is None for row in rows):
            continue  # a kind this agent does not push
        changed = rows[-1][position] is not None and _read_descriptions(reading, agent, name)
        described, kept = agent.described[name], agent.pushes[name]
        cpu_at, memory_at, limit_at = _CPU[name], _MEMORY[name], _LIMIT[name]
        latest = {}
        for row in rows:
            if row[position] is None:
                keys, columns = (), [()] * len(KINDS[name].metrics)
            else:
                keys, columns = packing.unpack_columns(KINDS[name].metrics, row[position])
            if limit_at is None:  # nodes: memory against the capacity they describe
                limits = [(described.get(key) or {}).get("memory_capacity_mb") or _NAN for key in keys]
            else:
                limits = columns[limit_at]
            memory = [used / limit * 100 if limit > 0 else _NAN for used, limit in zip(columns[memory_at], limits)]
            kept.append(Pushed(row[0], tuple(keys), columns[cpu_at], memory, peak(columns[cpu_at]), peak(memory)))
        latest = dict(zip(keys, zip(*columns)))  # as stored: NaN or -1 where not measured
        agent.columns[name] = columns
        oldest = rows[-1][0] - window
        while len(kept) > 1 and kept[1].ts <= oldest:
            kept.popleft()  # the oldest kept is at or before the window's start: it anchors it
        if changed or kept[-1].keys != tuple(agent.latest[name]):
            agent.present[name] = [(key, object_name(name, described[key]), described[key])
                                   for key in latest if key in described]
            agent.names[name] = {key: found for key, found, _ in agent.present[name]}
            agent.present_by_name[name] = {found: description for _, found, description in agent.present[name]}
        agent.latest[name] = latest
    agent.read_through = rows[-1][0]


def _read_descriptions(reading, agent, name):
    """Read the descriptions new or changed since the last read; return True when there were any."""
    columns = _COLUMNS[name]
    rows = reading.described_after(name, agent.id, agent.described_through[name], agent.max_key[name])
    for key, *values in rows:
        agent.described[name][key] = dict(zip(columns, values[:-1]))
        agent.described_through[name] = max(agent.described_through[name], values[-1])
        agent.max_key[name] = max(agent.max_key[name], key)
    return bool(rows)
