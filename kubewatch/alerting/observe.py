"""What the evaluator knows of each agent: its latest objects and a short window of their samples.

Kept in memory between runs and brought up to date from the pushes each agent made since the
last run, so a run reads the new pushes and nothing older. A fresh process (or a new leader)
reads each agent's last `window` seconds once.
"""

from collections import deque

from kubewatch import packing
from kubewatch.db import driver_sql
from kubewatch.kinds import KINDS

_AGENTS = "SELECT id, org_id, name, last_seen, last_push_ts FROM agents"
_PUSHES = "SELECT ts, containers, nodes, pods FROM pushes WHERE agent_id = {0} AND ts > {0} ORDER BY ts"
_DESCRIBED = {name: f"SELECT key, {', '.join(kind.identity + kind.described)}, described_at FROM {kind.table} "
                    "WHERE agent_id = {0} AND (described_at > {0} OR key > {0})"
              for name, kind in KINDS.items()}
_COLUMNS = {name: kind.identity + kind.described for name, kind in KINDS.items()}
_INDEX = {name: {metric.column: i for i, metric in enumerate(kind.metrics)} for name, kind in KINDS.items()}


class Agent:
    """One agent as last read: its row, and per kind its objects' descriptions, latest values and samples."""

    __slots__ = ("id", "org_id", "name", "last_seen", "last_push_ts", "read_through", "described", "latest",
                 "samples", "described_through", "max_key")

    def __init__(self, row):
        self.id, self.org_id, self.name, self.last_seen, self.last_push_ts = row
        self.read_through = None  # ts of the newest push read
        self.described = {name: {} for name in KINDS}  # {key: {column: value}}
        self.latest = {name: {} for name in KINDS}  # {key: values of the latest push, in kind.metrics' order}
        self.samples = {name: {} for name in KINDS}  # {key: deque of (ts, values)}, oldest first
        self.described_through = {name: -1 for name in KINDS}
        self.max_key = {name: 0 for name in KINDS}

    def objects(self, kind):
        """Yield (description, latest values, samples) of each object of the latest push of kind."""
        described, samples = self.described[kind], self.samples[kind]
        for key, values in self.latest[kind].items():
            description = described.get(key)
            if description is not None:
                yield description, values, samples.get(key, ())


def metric_index(kind, column):
    """Return where a metric's value sits in a sample's values."""
    return _INDEX[kind][column]


class Observer:
    """The agents as the evaluator last saw them, kept up to date by refresh()."""

    def __init__(self):
        self.agents = {}

    def refresh(self, conn, window):
        """Read what changed since the last refresh; return {agent_id: Agent}.

        window: seconds of samples to keep before each agent's latest push (the longest average of a rule).
        """
        seen = {}
        for row in conn.exec_driver_sql(_AGENTS).all():
            agent = self.agents.get(row[0])
            if agent is None:
                agent = Agent(row)
            else:
                agent.org_id, agent.name, agent.last_seen, agent.last_push_ts = row[1:]
            seen[agent.id] = agent
            if agent.last_push_ts is not None and (agent.read_through is None
                                                   or agent.last_push_ts > agent.read_through):
                _read_new_pushes(conn, agent, window)
        self.agents = seen  # deleted agents are forgotten
        return seen


def _read_new_pushes(conn, agent, window):
    start = agent.last_push_ts - window - 1
    if agent.read_through is not None:
        start = max(start, agent.read_through)
    rows = conn.exec_driver_sql(driver_sql(_PUSHES), (agent.id, start)).all()
    if not rows:
        return
    for position, name in enumerate(KINDS, start=1):
        kind = KINDS[name]
        samples = agent.samples[name]
        latest = {}
        for row in rows:
            blob = row[position]
            latest = packing.unpack(kind.metrics, blob) if blob is not None else {}
            for key, values in latest.items():
                found = samples.get(key)
                if found is None:
                    found = samples[key] = deque()
                found.append((row[0], values))
        agent.latest[name] = latest
        oldest = rows[-1][0] - window
        for key in list(samples):
            found = samples[key]
            while found and found[0][0] < oldest:
                found.popleft()
            if not found:
                del samples[key]
        if latest:
            _read_descriptions(conn, agent, name)
    agent.read_through = rows[-1][0]


def _read_descriptions(conn, agent, name):
    columns = _COLUMNS[name]
    for key, *values in conn.exec_driver_sql(
            driver_sql(_DESCRIBED[name]), (agent.id, agent.described_through[name], agent.max_key[name])).all():
        agent.described[name][key] = dict(zip(columns, values[:-1]))
        agent.described_through[name] = max(agent.described_through[name], values[-1])
        agent.max_key[name] = max(agent.max_key[name], key)
