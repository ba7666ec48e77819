"""Reading an agent's objects back: the containers, nodes and pods of its latest push, and their series."""

import time

from flask import current_app
from flask_smorest import abort

from kubewatch import series_query
from kubewatch.api import Blueprint, access
from kubewatch.api.errors import found_or_404
from kubewatch.api.metrics_schemas import (LISTED, SERIES, ContainerSeries, ContainersQuery, ListedContainer,
                                           ListedNode, ListedPod, NodeSeries, PodSeries, PodsQuery, SeriesQuery,
                                           measured)
from kubewatch.kinds import CONTAINERS, NODES, PODS
from kubewatch.repository import agents, sample_rows

blp = Blueprint("metrics", __name__, url_prefix="/api/v1/agents",
                description="An agent's containers, nodes and pods, and their metrics over time.")

_USER = [{"userToken": []}]


def agent_or_404(user, agent_id):
    """Return the user's organization's agent, or abort 404."""
    return found_or_404(agents.agent_for_org(user["org_id"], agent_id), f"Agent {agent_id}")


# Restarts within this many seconds are recent; the dashboard highlights them.
RECENT = 3600


def _listed(kind, agent_id, keep=lambda item: True):
    """Answer the objects of the latest push as listed, with what they did lately where the kind has it."""
    items = [measured(kind, item) for item in sample_rows.latest(kind, agent_id) if keep(item)]
    restarts = _RESTART_INDEX.get(kind.name)
    if restarts is not None and items:
        # The rollups hold the hour but its last minute or two; the push before the latest one holds those.
        lowest = sample_rows.lowest_restarts_since(kind, agent_id, int(time.time()) - RECENT)
        for item in items:
            earlier = [lowest.get(item["key"]), item["previous"] and item["previous"][1][restarts]]
            earlier = [value for value in earlier if value is not None]
            now = item["values"][restarts]
            item["recentRestarts"] = max(0, now - min(earlier)) if now is not None and earlier else 0
    if kind is CONTAINERS:
        for item in items:
            # Its description changed to a state other than running: it ran before (first seen stopped, it did not).
            stopped = item["status"] not in ("running", "paused") and item["described_at"] > item["first_seen"]
            item["stopped_at"] = item["described_at"] if stopped else None
    return LISTED[kind.name].many(items)


_RESTART_INDEX = {kind.name: [metric.column for metric in kind.metrics].index("restart_count")
                  for kind in (CONTAINERS, PODS)}


def query_range(query, agent):
    """Return (start, end, now) in epoch seconds of a SeriesQuery: by default the hour before the agent's now.

    Samples keep the agent's timestamps: the last hour of an agent whose clock runs ahead (its
    clock_skew) ends that far after the server's now, so that it holds its latest samples.
    """
    now = int(time.time())
    end = int(query["end"].timestamp()) if "end" in query else now + max(0, agent["clock_skew"] or 0)
    start = int(query["start"].timestamp()) if "start" in query else end - 3600
    if start > end:
        abort(400, errors={"query": {"from": ["from must not be after to."]}})
    return start, end, now


def _series(kind, agent, identity, what, query):
    """Answer a series query for one object of an agent, or 404 when the agent never pushed it."""
    agent_id = agent["id"]
    key = sample_rows.object_key(kind, agent_id, identity)
    if key is None:
        abort(404, message=f"Agent {agent_id} has no {what}.")
    start, end, now = query_range(query, agent)
    try:
        found = series_query.read_series(kind, agent_id, key, start, end, query.get("step"), now, current_app.config)
    except series_query.QueryError as error:
        abort(400, message=str(error))
    return SERIES[kind.name].one(found)


@blp.get("/<agent_id>/containers")
@access.needs_user()
@blp.arguments(ContainersQuery, location="query")
@blp.response(200, ListedContainer(many=True))
@blp.doc(security=_USER)
def list_containers(query, agent_id, user):
    """List the containers of the agent's latest push, as pushed, with network rates; `status` filters."""
    agent_or_404(user, agent_id)
    status = query.get("status")
    return _listed(CONTAINERS, agent_id, lambda item: status is None or item["status"] == status)


@blp.get("/<agent_id>/containers/<container_id>/metrics")
@access.needs_user()
@blp.arguments(SeriesQuery, location="query")
@blp.response(200, ContainerSeries)
@blp.doc(security=_USER)
def container_metrics(query, agent_id, container_id, user):
    """Return a container's metrics from `from` to `to` (default: the last hour), raw or in buckets of `step`."""
    return _series(CONTAINERS, agent_or_404(user, agent_id), (container_id,), f"container {container_id}", query)


@blp.get("/<agent_id>/nodes")
@access.needs_user()
@blp.response(200, ListedNode(many=True))
@blp.doc(security=_USER)
def list_nodes(agent_id, user):
    """List the Kubernetes nodes of the agent's latest push, as pushed, with network rates."""
    agent_or_404(user, agent_id)
    return _listed(NODES, agent_id)


@blp.get("/<agent_id>/nodes/<name>/metrics")
@access.needs_user()
@blp.arguments(SeriesQuery, location="query")
@blp.response(200, NodeSeries)
@blp.doc(security=_USER)
def node_metrics(query, agent_id, name, user):
    """Return a node's metrics from `from` to `to` (default: the last hour), raw or in buckets of `step`."""
    return _series(NODES, agent_or_404(user, agent_id), (name,), f"node {name}", query)


@blp.get("/<agent_id>/pods")
@access.needs_user()
@blp.arguments(PodsQuery, location="query")
@blp.response(200, ListedPod(many=True))
@blp.doc(security=_USER)
def list_pods(query, agent_id, user):
    """List the Kubernetes pods of the agent's latest push, as pushed, with network rates; `namespace` filters."""
    agent_or_404(user, agent_id)
    namespace = query.get("namespace")
    return _listed(PODS, agent_id, lambda item: namespace is None or item["namespace"] == namespace)


@blp.get("/<agent_id>/pods/<namespace>/<name>/metrics")
@access.needs_user()
@blp.arguments(SeriesQuery, location="query")
@blp.response(200, PodSeries)
@blp.doc(security=_USER)
def pod_metrics(query, agent_id, namespace, name, user):
    """Return a pod's metrics from `from` to `to` (default: the last hour), raw or in buckets of `step`."""
    return _series(PODS, agent_or_404(user, agent_id), (namespace, name), f"pod {namespace}/{name}", query)
