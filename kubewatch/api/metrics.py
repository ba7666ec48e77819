"""Reading an agent's objects back: the containers, nodes and pods of its latest push, and their series."""

import re
import time

from flask import current_app, jsonify
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validates_schema

from kubewatch import buckets, series_query
from kubewatch.api import Blueprint, access
from kubewatch.api.fields import EpochTime, QueryTime
from kubewatch.api.precision import float_fields, rounded
from kubewatch.api.push_schema import ContainerSchema, NodeSchema, PodSchema
from kubewatch.kinds import CONTAINERS, COUNTER, GAUGE, NODES, PODS, rate_field
from kubewatch.repository import agents, sample_rows

blp = Blueprint("metrics", __name__, url_prefix="/api/v1/agents",
                description="An agent's containers, nodes and pods, and their metrics over time.")

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_USER = [{"userToken": []}]


class Step(fields.Field):
    """Seconds, or a number with a unit: 30s, 1m, 1h, 1d."""

    def _deserialize(self, value, attr, data, **kwargs):
        found = re.fullmatch(r"([0-9]{1,9})([smhd]?)", str(value).strip())
        if not found or int(found.group(1)) == 0:
            raise ValidationError("Use whole seconds, or a number with s, m, h or d: 30s, 1m, 1h.")
        return int(found.group(1)) * _UNITS[found.group(2)]


class SeriesQuery(Schema):
    start = QueryTime(data_key="from", format="iso", metadata={"description": "Default: an hour before to."})
    end = QueryTime(data_key="to", format="iso", metadata={
        "description": "Default: now, or the agent's now when its clock runs ahead of the server's."})
    step = Step(metadata={"type": "string", "example": "1m",
                          "description": "Bucket size: seconds, or 30s, 1m, 1h, 1d. Without it, raw samples."})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if "start" in data and "end" in data and data["start"] > data["end"]:
            raise ValidationError("from must not be after to.", "from")


class ContainersQuery(Schema):
    status = fields.String(metadata={"description": "Only containers in this state, such as running."})


class PodsQuery(Schema):
    namespace = fields.String(metadata={"description": "Only the pods of this namespace."})


def _point_schema(kind, name):
    """Return the schema of a point of kind: raw points have the values, buckets averages and maxima too."""
    point = {"t": EpochTime()}
    for metric in kind.metrics:
        number = fields.Integer if metric.integer and metric.how != GAUGE else fields.Float
        if metric.how == COUNTER:
            point[rate_field(metric)] = fields.Float(allow_none=True)
        else:
            point[metric.field] = number(allow_none=True)
        if metric.how == GAUGE:
            point[metric.field + "Max"] = fields.Float(allow_none=True, metadata={"description": "Buckets only."})
    return Schema.from_dict(point, name=name)


def _series_schema(point, name):
    return Schema.from_dict({
        "resolution": fields.String(metadata={"enum": ["raw", "1m", "1h"]}),
        "step": fields.Integer(allow_none=True),
        "points": fields.List(fields.Nested(point)),
    }, name=name)


def _object_schema(kind, pushed, name):
    """Return the schema of an object as last pushed: the push's fields, rates of its counters, lastSeen."""
    listed = {field.data_key or attr: field for attr, field in pushed().fields.items()}
    for metric in kind.metrics:
        if metric.how == COUNTER:
            listed[rate_field(metric)] = fields.Float(allow_none=True)
    listed["lastSeen"] = EpochTime()
    if "restart_count" in kind.measured:
        listed["recentRestarts"] = fields.Integer(metadata={
            "description": "How much restartCount rose in the last hour, by its lowest value in that hour."})
    if kind is CONTAINERS:
        listed["stoppedAt"] = EpochTime(allow_none=True, metadata={
            "description": "When a container that ran before was first reported in its present, stopped state; "
                           "null while running, or when it was never seen running."})
    return Schema.from_dict(listed, name=name)


def _api_names(pushed):
    return {attr: field.data_key or attr for attr, field in pushed().fields.items()}


_NAMES = {kind.name: _api_names(pushed) for kind, pushed in
          ((CONTAINERS, ContainerSchema), (NODES, NodeSchema), (PODS, PodSchema))}
_FLOATS = {kind.name: float_fields(kind) for kind in (CONTAINERS, NODES, PODS)}


def _object_json(kind, item):
    """Return an object of the latest push as the API lists it."""
    names = _NAMES[kind.name]
    shown = {names[column]: item[column] for column in kind.identity + kind.described}
    for flag in ("ready", "oomKilled"):  # stored as 0 or 1
        if shown.get(flag) is not None:
            shown[flag] = bool(shown[flag])
    previous = item["previous"]
    for index, metric in enumerate(kind.metrics):
        shown[metric.field] = item["values"][index]
        if metric.how == COUNTER:
            shown[rate_field(metric)] = previous and buckets.counter_rate(
                previous[1][index], item["values"][index], item["ts"] - previous[0])
    shown["lastSeen"] = EpochTime.format(item["ts"])
    return rounded(shown, _FLOATS[kind.name])


def agent_or_404(user, agent_id):
    """Return the user's organization's agent, or abort 404."""
    agent = agents.agent_for_org(user["org_id"], agent_id)
    if agent is None:
        abort(404, message=f"Agent {agent_id} doesn't exist.")
    return agent


# Restarts within this many seconds are recent; the dashboard highlights them.
RECENT = 3600


def _listed(kind, agent_id, keep=lambda item: True):
    """Answer the objects of the latest push as listed, with what they did lately where the kind has it."""
    items = [item for item in sample_rows.latest(kind, agent_id) if keep(item)]
    listed = [_object_json(kind, item) for item in items]
    restarts = _RESTART_INDEX.get(kind.name)
    if restarts is not None and items:
        # The rollups hold the hour but its last minute or two; the push before the latest one holds those.
        lowest = sample_rows.lowest_restarts_since(kind, agent_id, int(time.time()) - RECENT)
        for shown, item in zip(listed, items):
            earlier = [lowest.get(item["key"]), item["previous"] and item["previous"][1][restarts]]
            earlier = [value for value in earlier if value is not None]
            now = item["values"][restarts]
            shown["recentRestarts"] = max(0, now - min(earlier)) if now is not None and earlier else 0
    if kind is CONTAINERS:
        for shown, item in zip(listed, items):
            # Its description changed to a state other than running: it ran before (first seen stopped, it did not).
            stopped = item["status"] not in ("running", "paused") and item["described_at"] > item["first_seen"]
            shown["stoppedAt"] = EpochTime.format(item["described_at"]) if stopped else None
    return jsonify(listed)


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
    # Built by hand: a day of one-minute points through marshmallow's dump took longer than reading them.
    floats = _FLOATS[kind.name]
    for point in found["points"]:
        point["t"] = EpochTime.format(point["t"])
        rounded(point, floats)
    return jsonify(found)


ContainerPoint, NodePoint, PodPoint = (_point_schema(kind, f"{kind.name[:-1].title()}Point")
                                       for kind in (CONTAINERS, NODES, PODS))


@blp.get("/<agent_id>/containers")
@access.needs_user()
@blp.arguments(ContainersQuery, location="query")
@blp.response(200, _object_schema(CONTAINERS, ContainerSchema, "ListedContainer")(many=True))
@blp.doc(security=_USER)
def list_containers(query, agent_id, user):
    """List the containers of the agent's latest push, as pushed, with network rates; `status` filters."""
    agent_or_404(user, agent_id)
    status = query.get("status")
    return _listed(CONTAINERS, agent_id, lambda item: status is None or item["status"] == status)


@blp.get("/<agent_id>/containers/<container_id>/metrics")
@access.needs_user()
@blp.arguments(SeriesQuery, location="query")
@blp.response(200, _series_schema(ContainerPoint, "ContainerSeries"))
@blp.doc(security=_USER)
def container_metrics(query, agent_id, container_id, user):
    """Return a container's metrics from `from` to `to` (default: the last hour), raw or in buckets of `step`."""
    return _series(CONTAINERS, agent_or_404(user, agent_id), (container_id,), f"container {container_id}", query)


@blp.get("/<agent_id>/nodes")
@access.needs_user()
@blp.response(200, _object_schema(NODES, NodeSchema, "ListedNode")(many=True))
@blp.doc(security=_USER)
def list_nodes(agent_id, user):
    """List the Kubernetes nodes of the agent's latest push, as pushed, with network rates."""
    agent_or_404(user, agent_id)
    return _listed(NODES, agent_id)


@blp.get("/<agent_id>/nodes/<name>/metrics")
@access.needs_user()
@blp.arguments(SeriesQuery, location="query")
@blp.response(200, _series_schema(NodePoint, "NodeSeries"))
@blp.doc(security=_USER)
def node_metrics(query, agent_id, name, user):
    """Return a node's metrics from `from` to `to` (default: the last hour), raw or in buckets of `step`."""
    return _series(NODES, agent_or_404(user, agent_id), (name,), f"node {name}", query)


@blp.get("/<agent_id>/pods")
@access.needs_user()
@blp.arguments(PodsQuery, location="query")
@blp.response(200, _object_schema(PODS, PodSchema, "ListedPod")(many=True))
@blp.doc(security=_USER)
def list_pods(query, agent_id, user):
    """List the Kubernetes pods of the agent's latest push, as pushed, with network rates; `namespace` filters."""
    agent_or_404(user, agent_id)
    namespace = query.get("namespace")
    return _listed(PODS, agent_id, lambda item: namespace is None or item["namespace"] == namespace)


@blp.get("/<agent_id>/pods/<namespace>/<name>/metrics")
@access.needs_user()
@blp.arguments(SeriesQuery, location="query")
@blp.response(200, _series_schema(PodPoint, "PodSeries"))
@blp.doc(security=_USER)
def pod_metrics(query, agent_id, namespace, name, user):
    """Return a pod's metrics from `from` to `to` (default: the last hour), raw or in buckets of `step`."""
    return _series(PODS, agent_or_404(user, agent_id), (namespace, name), f"pod {namespace}/{name}", query)
