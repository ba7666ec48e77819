"""The schemas of an agent's objects read back, built from the kinds: series queries, points, objects as listed."""

import re

from marshmallow import Schema, ValidationError, fields, validates_schema

from kubewatch import buckets
from kubewatch.api.answers import Shape
from kubewatch.api.fields import EpochTime, QueryTime
from kubewatch.api.precision import Rounded, places
from kubewatch.api.push_schema import ContainerSchema, NodeSchema, PodSchema
from kubewatch.kinds import CONTAINERS, COUNTER, GAUGE, NODES, PODS, rate_field

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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


PUSHED = {CONTAINERS.name: ContainerSchema, NODES.name: NodeSchema, PODS.name: PodSchema}


def _figure(metric, **kwargs):
    """Return the field of a metric's own figure: rounded to its places, or an integer."""
    decimals = places(metric)
    return fields.Integer(**kwargs) if decimals is None else Rounded(decimals, **kwargs)


def _point_schema(kind):
    """Return the schema of a point of kind: raw points have the values, buckets averages and maxima too."""
    point = {"t": EpochTime()}
    for metric in kind.metrics:
        if metric.how == COUNTER:
            point[rate_field(metric)] = _figure(metric, allow_none=True)
        else:
            point[metric.field] = _figure(metric, allow_none=True)
        if metric.how == GAUGE:
            point[metric.field + "Max"] = Rounded(places(metric), allow_none=True,
                                                  metadata={"description": "Buckets only."})
    return Schema.from_dict(point, name=f"{kind.name[:-1].title()}Point")


def _series_schema(kind):
    return Schema.from_dict({
        "resolution": fields.String(metadata={"enum": ["raw", "1m", "1h"]}),
        "step": fields.Integer(allow_none=True),
        "points": fields.List(fields.Nested(_point_schema(kind))),
    }, name=f"{kind.name[:-1].title()}Series")


def _listed_schema(kind):
    """Return the schema of an object as last pushed: the push's fields, rates of its counters, lastSeen.

    In the order of the answer: its identity and description, then each metric (a counter with its rate).
    """
    pushed = PUSHED[kind.name]().fields
    listed = {column: pushed[column] for column in kind.identity + kind.described}
    for metric in kind.metrics:
        field = pushed[metric.column]
        listed[metric.column] = field if metric.integer else Rounded(
            places(metric), data_key=field.data_key, allow_none=True, validate=field.validators)
        if metric.how == COUNTER:
            listed[rate_field(metric)] = Rounded(places(metric), allow_none=True)
    listed["lastSeen"] = EpochTime(attribute="ts")
    if "restart_count" in kind.measured:
        listed["recentRestarts"] = fields.Integer(metadata={
            "description": "How much restartCount rose in the last hour, by its lowest value in that hour."})
    if kind is CONTAINERS:
        listed["stoppedAt"] = EpochTime(attribute="stopped_at", allow_none=True, metadata={
            "description": "When a container that ran before was first reported in its present, stopped state; "
                           "null while running, or when it was never seen running."})
    return Schema.from_dict(listed, name=f"Listed{kind.name[:-1].title()}")


ListedContainer, ListedNode, ListedPod = (_listed_schema(kind) for kind in (CONTAINERS, NODES, PODS))
ContainerSeries, NodeSeries, PodSeries = (_series_schema(kind) for kind in (CONTAINERS, NODES, PODS))
LISTED = {kind.name: Shape(schema) for kind, schema in
          ((CONTAINERS, ListedContainer), (NODES, ListedNode), (PODS, ListedPod))}
SERIES = {kind.name: Shape(schema) for kind, schema in
          ((CONTAINERS, ContainerSeries), (NODES, NodeSeries), (PODS, PodSeries))}


def measured(kind, item):
    """Add to an object of sample_rows.latest its metrics' values by column, and its counters' rates; return it."""
    values, previous = item["values"], item["previous"]
    for index, metric in enumerate(kind.metrics):
        item[metric.column] = values[index]
        if metric.how == COUNTER:
            item[rate_field(metric)] = previous and buckets.counter_rate(
                previous[1][index], values[index], item["ts"] - previous[0])
    return item
