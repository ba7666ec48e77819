"""Taking in a push: one at a time, dated within what the server keeps, within its limits, stored.

Called by the push view and by the push shortcut in front of Flask, so both store alike.
"""

import logging
import threading
import time
from typing import NamedTuple

from flask import current_app

from kubewatch import agent_clock, agent_watch, push_limits
from kubewatch.plausible import leave_out_impossible
from kubewatch.logsafe import shown
from kubewatch.push_limits import PushRefused
from kubewatch.repository import describe_ahead, pushes

log = logging.getLogger("kubewatch.agents")  # the push view's logger, as before ingest had a module of its own

# Pushes are handled one at a time, parsing and validation included: under the GIL, concurrent
# pushes only take turns with more switching, and the writer lock turns them into a convoy.
# Measured with bench/ingest.py: 4 threads with this lock push 20-30 % more than without it.
ONE_PUSH_AT_A_TIME = threading.Lock()

# A push body of more bytes than this (about 800 containers) is loaded and checked, and its new
# objects described in chunks, before it takes ONE_PUSH_AT_A_TIME: loading 20,000 objects and
# checking their figures took 30 ms of the 50 ms of such a push on a quiet machine, and describing
# 20,000 new ones 0.5 to 1 s, during which every other push waited. Outside the lock, the others
# take turns with it; it holds the lock only to store what it loaded.
HEAVY_PUSH_BYTES = 128 * 1024

# A push dated further ahead than this is refused: stored, it would stand as the agent's newest
# for years and keep every honest push from updating what the agent reports.
MAX_CLOCK_AHEAD = 600


def receive_push(agent_id, load, source, sent=None, registration=None, length=None):
    """Load a push with load(source) and store it, one push at a time; return accept_push's Outcome.

    load returns a LoadedPush, or None for a body it will not take (then nothing is stored and
    None is returned); it may also raise, as the view's loader aborts 400. Raises PushRefused.
    sent is the request's Date header, or None; registration the id of the registration whose token pushed.
    length is the body's size in bytes, if known: past HEAVY_PUSH_BYTES, it is loaded and checked
    before it waits for its turn.
    """
    if length is not None and length > HEAVY_PUSH_BYTES:
        body = load(source)
        if body is None:
            return None
        checked = check_push(agent_id, body)
        config = current_app.config
        try:  # its new objects, in chunks, each a short hold of the writer lock (repository/describe_ahead.py)
            ahead = describe_ahead.describe_ahead(agent_id, checked.ts, body._asdict(), config["MAX_DESCRIBED_OBJECTS"],
                                                  push_limits.describe_new())
        except pushes.TooManyDescribed as refused:
            raise PushRefused(413, str(refused)) from None
        with ONE_PUSH_AT_A_TIME:
            return store_checked(agent_id, body, checked, sent, registration, ahead)
    with ONE_PUSH_AT_A_TIME:
        body = load(source)
        return None if body is None else accept_push(agent_id, body, sent, registration)


# Retries whose samples differed, logged once per agent: {agent_id: timestamp}.
_DIFFERED_LOGGED = {}


def accept_push(agent_id, body, sent=None, registration=None):
    """Store a loaded push and return its pushes.Outcome; raise PushRefused for a push refused whole.

    sent is the request's Date header (when the agent sent it, by its clock), or None: with it, the
    agent's clock skew is measured apart from how late the push is (one replayed from a backlog).
    registration is the id of the registration whose token pushed (None: a token without one): a
    push for a second another registration's push already holds is merged into it, not taken for a retry.

    Refused: a timestamp too far ahead of the server's clock or older than the raw tier keeps (400),
    more objects than MAX_OBJECTS_PER_PUSH (413), or new objects past MAX_DESCRIBED_OBJECTS (413).
    """
    return store_checked(agent_id, body, check_push(agent_id, body), sent, registration)


class Checked(NamedTuple):
    """What check_push found of a loaded push, for store_checked."""

    ts: int  # its timestamp, in seconds
    received_at: int  # when it came, by the server's clock
    impossible: list  # the figures left out as impossible


def check_push(agent_id, body):
    """Check a loaded push against the clock and the limits, spend its objects from its agent's rate, and leave
    out its impossible figures; return its Checked. Raises PushRefused as accept_push does; stores nothing."""
    ts, received_at = int(body.timestamp.timestamp()), int(time.time())
    if ts > received_at + MAX_CLOCK_AHEAD:
        raise PushRefused(400, f"More than {MAX_CLOCK_AHEAD} s ahead of the server's clock: check the agent's clock.",
                          "timestamp")
    config = current_app.config
    # Older samples than the raw tier keeps would land in minutes already rolled up and pruned.
    if ts < received_at - config["RAW_RETENTION"]:
        raise PushRefused(400, f"Older than the {config['RAW_RETENTION']} s of raw samples this server keeps.",
                          "timestamp")
    push_limits.check_size(body)
    push_limits.spend_objects(agent_id, body)
    return Checked(ts, received_at, [*body.impossible, *leave_out_impossible(body)])


def store_checked(agent_id, body, checked, sent=None, registration=None, ahead=None):
    """Store a push check_push took, as accept_push does; return its pushes.Outcome.

    ahead is what describe_ahead found of its objects, or None."""
    (ts, received_at, impossible), config = checked, current_app.config
    skew = agent_clock.sent_skew(sent, received_at, config["RAW_RETENTION"])
    watch = agent_watch.watch()
    try:
        outcome = pushes.store_push(agent_id, ts, received_at, body._asdict(), config["MAX_DESCRIBED_OBJECTS"],
                                    push_limits.describe_new(), agent_clock.happened_at(ts, received_at, skew), skew,
                                    merge=watch.stored_by_other(agent_id, ts, registration), ahead=ahead)
    except pushes.TooManyDescribed as refused:
        raise PushRefused(413, str(refused)) from None
    if outcome.differed and _DIFFERED_LOGGED.get(agent_id) != ts:
        _DIFFERED_LOGGED[agent_id] = ts
        log.warning("agent %s pushed again for %s with other samples: the push stored first is kept",
                    shown(agent_id), body.timestamp.isoformat())
    if outcome.agent_found:
        watch.clock(agent_id, outcome.clock_skew)
        watch.pushed(agent_id, ts, registration, outcome)
        if impossible:
            watch.impossible_figures(agent_id, impossible)
    if outcome.left_out:
        log.warning("database near its size limit: %s new objects of agent %s not described",
                    sum(outcome.left_out.values()), shown(agent_id))
    return outcome
