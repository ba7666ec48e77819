"""Storing a push: what describes each container, node and pod, and its samples in one row."""

from typing import NamedTuple

from kubewatch import packing
from kubewatch.db import write_cursor
from kubewatch.kinds import KINDS
from kubewatch.repository import object_descriptions, push_merge, push_objects

# Every statement runs per push, on the driver's Cursor with "{0}" parameters (see kubewatch/db.py).


def _marking(fresh="", stored_skew="", joined="", returning=""):
    """Return the statement that marks the agent seen and, when its push takes the state, sets its state."""
    takes_state = f"({fresh}(state_at IS NULL OR {{0}} >= state_at))"
    return (
        "UPDATE agents SET last_seen = {0}, "
        f"container_count = CASE WHEN {takes_state} THEN {{0}} ELSE container_count END, "
        f"node_count = CASE WHEN {takes_state} THEN {{0}} ELSE node_count END, "
        f"pod_count = CASE WHEN {takes_state} THEN {{0}} ELSE pod_count END, "
        f"running_count = CASE WHEN {takes_state} THEN {{0}} ELSE running_count END, "
        # Every right-hand side reads the row as it was: restart_total is still the previous push's.
        f"restarted_at = CASE WHEN last_push_ts IS NOT NULL AND {takes_state} AND {{0}} > restart_total THEN {{0}} "
        "ELSE restarted_at END, "
        f"restart_total = CASE WHEN {takes_state} THEN {{0}} ELSE restart_total END, "
        f"last_push_ts = CASE WHEN {takes_state} THEN {{0}} ELSE last_push_ts END, "
        # As the agent told it when it sent its Date, else from the push that takes the state: a push
        # replayed from a backlog is old, not skewed.
        f"clock_skew = CASE {stored_skew}WHEN CAST({{0}} AS BIGINT) IS NOT NULL THEN {{0}} WHEN {takes_state} THEN {{0}} "
        "ELSE clock_skew END, "
        f"state_at = CASE WHEN {takes_state} THEN {{0}} ELSE state_at END "
        f"{joined}WHERE id = {{0}} RETURNING clock_skew, last_push_ts, descriptions_version{returning}"
    )


# The agent's state (its lists and counts) follows the push that happened last on the server's
# clock, at (see kubewatch/agent_clock.py): a push that happened before the state's (a backlog
# replayed late) adds its samples and changes nothing else, whatever its timestamp says.
_MARK_SEEN = _marking()
# On PostgreSQL, the same in one round trip with the read of the push stored for the timestamp
# (_STORED_BEFORE), which it also returns: a push whose timestamp is stored changes only last_seen,
# as _MARK_SEEN_ONLY does. SQLite's RETURNING may not name the joined table; there a statement
# is a call in process, not a wait for a server.
_MARK_SEEN_UNLESS_STORED = _marking(
    fresh="stored.ts IS NULL AND ", stored_skew="WHEN stored.ts IS NOT NULL THEN agents.clock_skew ",
    joined="FROM (SELECT CAST({0} AS BIGINT) AS ts) AS pushed "
           "LEFT JOIN pushes AS stored ON stored.agent_id = {0} AND stored.ts = pushed.ts ",
    returning=", stored.ts IS NOT NULL, stored.containers, stored.nodes, stored.pods")
_STORED_BEFORE = "SELECT containers, nodes, pods FROM pushes WHERE agent_id = {0} AND ts = {0}"
_MARK_SEEN_ONLY = "UPDATE agents SET last_seen = {0} WHERE id = {0} RETURNING descriptions_version"
_SET_COUNTS = "UPDATE agents SET container_count = {0}, node_count = {0}, pod_count = {0} WHERE id = {0} AND last_push_ts = {0}"
# Objects an agent has described, of every kind: keys are never reused, so each kind's highest key counts them.
_DESCRIBED = "SELECT " + " + ".join(f"COALESCE((SELECT MAX(key) FROM {kind.table} WHERE agent_id = {{0}}), 0)"
                        for kind in KINDS.values())
# A container stopped after running: its kept description changed since it was first seen, and it
# is not running now. Counted only when the newest push's containers or their descriptions changed.
_COUNT_STOPPED = (
    "SELECT COUNT(*) FROM containers WHERE agent_id = {{0}} AND key IN ({keys}) "
    "AND status NOT IN ('running', 'paused') AND described_at > first_seen"
)
_SET_STOPPED = "UPDATE agents SET stopped_count = {0} WHERE id = {0} AND last_push_ts = {0}"
_NONE_STOPPED = "UPDATE agents SET stopped_count = 0 WHERE id = {0} AND last_push_ts = {0} AND stopped_count != 0"
_RECORD_PUSH = (
    "INSERT INTO pushes (agent_id, ts, received_at, containers, nodes, pods) VALUES ({0}, {0}, {0}, {0}, {0}, {0})"
)


class Outcome(NamedTuple):
    """What store_push did with a push."""

    agent_found: bool  # False: the agent is gone, and nothing was stored
    left_out: dict  # {kind: new objects not described, the database being near its size limit}
    differed: bool  # a retry of a stored timestamp, with other samples: nothing of it was stored
    clock_skew: int = None  # the agent's clock against the server's in seconds, as now known (None: not known)
    retried: bool = False  # its timestamp was stored before: taken for a retry
    merged: bool = False  # its timestamp was stored before by another installation: merged into that push


STORED, GONE = Outcome(True, {}, False), Outcome(False, {}, False)


class TooManyDescribed(Exception):
    """The push would take its agent past the objects it may have described; nothing was stored."""

    def __init__(self, described, new, limit):
        super().__init__(f"This agent has described {described} objects and pushed {new} new ones: at most "
                         f"{limit} are kept per agent (max_described_objects). Delete the agent to start afresh.")


def _stopped_among(writing, agent_id, keys):
    """Count the containers of these keys that stopped after running, a slice of keys per statement."""
    keys = list(keys)
    stopped = 0
    for start in range(0, len(keys), object_descriptions.LOOKUP_SLICE):
        wanted = keys[start:start + object_descriptions.LOOKUP_SLICE]
        stopped += writing.execute(_COUNT_STOPPED.format(keys=", ".join(["{0}"] * len(wanted))),
                                   (agent_id, *wanted)).fetchone()[0]
    return stopped


def store_push(agent_id, ts, received_at, objects, max_described=None, describe_new=True, at=None, sent_skew=None,
               merge=False, ahead=None):
    """Store one push in one transaction and return its Outcome.

    objects maps "containers", "nodes" and "pods" to lists of objects with one attribute per column.
    The first push stored for a timestamp wins whole: a retry only marks the agent seen, and its
    Outcome says whether its samples differed. Raises TooManyDescribed when the push's new objects
    would take the agent past max_described (None: no limit). With describe_new False, new
    objects are left out and their samples with them; the objects already described are stored.
    at is when the push happened on the server's clock (default: ts, or received_at if earlier):
    the push takes the agent's state unless a later one did. sent_skew is the agent's clock
    against the server's as its request told it (None: not told). With merge, a push whose
    timestamp is stored comes from another installation of the agent: its objects not in the
    stored push are added to it (see repository/push_merge.py), rather than taken for a retry.
    ahead is what repository/describe_ahead.py found of the push's objects, or None.
    """
    at = min(ts, received_at) if at is None else at
    on_commit = []
    with write_cursor(on_commit) as writing:
        counts = [len(objects[name]) for name in KINDS]
        containers = objects["containers"]
        running = sum(1 for item in containers if item.status == "running")
        restarts = sum(item.restart_count or 0 for item in containers)
        before, marked = _mark_seen(writing, agent_id, ts, received_at, (
            received_at, at, counts[0], at, counts[1], at, counts[2], at, running, at, restarts, ts, at, restarts,
            at, ts, sent_skew, sent_skew, at, ts - received_at, at, at))
        if marked is None:
            return GONE
        if before is not None:
            if merge:
                return _merge(writing, agent_id, ts, objects, before, _Budget(
                    writing, agent_id, max_described, describe_new), push_objects.recall(writing, agent_id, marked[2]),
                    on_commit)
            return Outcome(True, {}, not _same_samples(writing, agent_id, objects, before), retried=True)
        budget = _Budget(writing, agent_id, max_described, describe_new)
        recalled = push_objects.recall(writing, agent_id, marked[2])
        if ahead is not None and ahead.version == marked[2]:  # none of them changed since
            push_objects.recall_also(recalled, ahead.found)
        blobs = []
        for name, kind in KINDS.items():
            items = objects[name]
            if not items:
                if name == "containers":
                    writing.execute(_NONE_STOPPED, (agent_id, ts))
                blobs.append(None)
                continue
            keys, items, changed = push_objects.describe(writing, name, agent_id, ts, items, budget, recalled,
                                                         marked[1] == ts)
            if name == "containers" and changed:
                if keys:
                    writing.execute(_SET_STOPPED, (_stopped_among(writing, agent_id, keys), agent_id, ts))
                else:
                    writing.execute(_NONE_STOPPED, (agent_id, ts))
            blobs.append(packing.pack(kind.metrics, keys, push_objects.measured(name, items)) if items else None)
        if budget.left_out:
            counts = [len(objects[name]) - budget.left_out.get(name, 0) for name in KINDS]
            writing.execute(_SET_COUNTS, (*counts, agent_id, ts))
        writing.execute(_RECORD_PUSH, (agent_id, ts, received_at, *blobs))
        push_objects.remember(writing, agent_id, recalled, on_commit)
    return Outcome(True, budget.left_out, False, marked[0])


def _mark_seen(writing, agent_id, ts, received_at, state):
    """Mark the agent seen, and give it the push's state (_MARK_SEEN's parameters but the id) unless its
    timestamp is stored; return (the stored push's containers, nodes and pods, or None when none is stored,
    and (clock_skew, last_push_ts, descriptions_version), or None when the agent is gone)."""
    if writing.engine.dialect.name != "sqlite":
        row = writing.execute(_MARK_SEEN_UNLESS_STORED, (*state, ts, agent_id, agent_id)).fetchone()
        return (None, None) if row is None else (row[4:] if row[3] else None, row[:3])
    before = writing.execute(_STORED_BEFORE, (agent_id, ts)).fetchone()
    if before is None:
        return None, writing.execute(_MARK_SEEN, (*state, agent_id)).fetchone()
    seen = writing.execute(_MARK_SEEN_ONLY, (received_at, agent_id)).fetchone()
    return before, None if seen is None else (None, None, seen[0])


def _merge(writing, agent_id, ts, objects, stored, budget, recalled, on_commit):
    """Merge another installation's push into the one stored at ts; return its Outcome."""
    pushed = {}
    for name in KINDS:
        if objects[name]:
            keys, items, _ = push_objects.describe(writing, name, agent_id, ts, objects[name], budget, recalled,
                                                   takes_state=False)
            pushed[name] = (keys, push_objects.measured(name, items))
    push_objects.remember(writing, agent_id, recalled, on_commit)
    containers = push_merge.merge_into(writing, agent_id, ts, stored, pushed)
    if containers is not None:  # the stopped ones among the merged push's containers, when the state follows it
        writing.execute(_SET_STOPPED, (_stopped_among(writing, agent_id, containers), agent_id, ts))
    return Outcome(True, budget.left_out, False, merged=True)


class _Budget:
    """How many new objects a push may still describe: counted once, when the first new one comes."""

    def __init__(self, writing, agent_id, limit, describe_new):
        self.writing, self.agent_id, self.limit, self.describe_new = writing, agent_id, limit, describe_new
        self.described = None
        self.pushed_new = 0
        self.left_out = {}

    def allows(self, name, new):
        """Tell whether new more objects of kind name may be described; raise TooManyDescribed past the limit."""
        if not self.describe_new:
            self.left_out[name] = new
            return False
        if self.limit is not None:
            if self.described is None:
                self.described = self.writing.execute(_DESCRIBED, (self.agent_id,) * len(KINDS)).fetchone()[0]
            self.pushed_new += new
            if self.described + self.pushed_new > self.limit:
                raise TooManyDescribed(self.described, self.pushed_new, self.limit)
        return True


def _same_samples(writing, agent_id, objects, blobs):
    """Tell whether a retried push holds the objects and samples of the push stored for its timestamp."""
    for (name, kind), blob in zip(KINDS.items(), blobs):
        items = objects[name]
        stored = packing.unpack(kind.metrics, blob) if blob is not None else {}
        if len(stored) != len(items):
            return False
        if not items:
            continue
        keys = push_objects.known_keys(writing, name, agent_id, items)
        for key, values in zip(keys, push_objects.measured(name, items)):
            if key is None or stored.get(key) != values:
                return False
    return True
