"""Closing hours: an agent's one-hour rollups of an hour are merged from its minutes once the hour is whole.

Merging the current hour again every minute read up to 60 minute rows per object each time: at
10,000 agents of 30 containers, most of the rollup job's writes and of its hold on the writer
lock. An hour is now merged once, at the first run after it ends, and agents.hours_through says
which hours are: readers take the hours from it on from the minutes (kubewatch/series_query.py).
A push rolled up late into an hour already closed merges that hour again, as before
(kubewatch/rollup_chunks.py), so an hour row is still the merge of all its minutes.

A run closes at most CLOSE_OBJECTS objects' hours, agents whole: the first run of an hour with
many agents spreads their hours over the next runs rather than delaying the next minute's rollup.
Closing cost about 115 us of CPU per object (60 minute rows each, 500 agents of 30 containers, in
process): 30,000 objects are about 3.5 s a run, and 10,000 such agents are closed in ten runs.
Minutes are pruned only in hours already closed (kubewatch/rollup_job.py).
"""

from itertools import groupby
from operator import itemgetter

from kubewatch.kinds import KINDS
from kubewatch.repository import hour_edges, rollup_rows

HOUR = 3600
CLOSE_OBJECTS = 30_000
# Agents read at a time: what is held stays bounded.
PAGE_AGENTS = 500


def close(before, writes, budget=None):
    """Merge the whole hours before before (epoch seconds) of every agent whose hours_through lags, up to
    about budget objects' hours, agents whole; move each done agent's hours_through to the hour of before."""
    edge, after = before - before % HOUR, None
    budget = CLOSE_OBJECTS if budget is None else budget
    while budget > 0:
        page = hour_edges.behind(edge, after, PAGE_AGENTS)
        for through, agents in groupby(sorted(page, key=itemgetter(1)), key=itemgetter(1)):
            agent_ids = [agent_id for agent_id, _ in agents]
            highest = {name: rollup_rows.highest_keys(agent_ids, kind) for name, kind in KINDS.items()}
            hours = {name: hour_edges.hours_with_minutes(kind, agent_ids, through, edge)
                     for name, kind in KINDS.items()}
            for agent_id in agent_ids:
                if budget <= 0:
                    break
                budget -= _queue_agent(agent_id, {name: highest[name].get(agent_id) for name in KINDS},
                                       {name: hours[name].get(agent_id, ()) for name in KINDS}, writes)
                writes.edge(agent_id, edge)
        if len(page) < PAGE_AGENTS or budget <= 0:
            break
        after = page[-1][0]
    writes.flush_marks()


def _queue_agent(agent_id, highest, hours, writes):
    """Queue the merges of the agent's hours, {kind name: [hours]}, of its objects, {kind name: highest key or
    None}; return how many objects' hours were queued."""
    queued = 0
    for name, kind in KINDS.items():
        top = highest[name]
        if top is None:
            continue
        for hour in hours[name]:
            for first_key in range(0, top + 1, writes.hour_keys):
                writes.hour(kind, agent_id, hour, first_key, min(first_key + writes.hour_keys, top + 1))
            queued += top + 1
    return queued
