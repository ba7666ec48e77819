"""The schemas of an agent's objects read back: series queries, their points, objects as listed."""

import re

from marshmallow import Schema, ValidationError, fields, validates_schema

from kubewatch.api.fields import EpochTime, QueryTime
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


ContainerPoint, NodePoint, PodPoint = (_point_schema(kind, f"{kind.name[:-1].title()}Point")
                                       for kind in (CONTAINERS, NODES, PODS))
ContainerSeries = _series_schema(ContainerPoint, "ContainerSeries")
NodeSeries = _series_schema(NodePoint, "NodeSeries")
PodSeries = _series_schema(PodPoint, "PodSeries")
ListedContainer = _object_schema(CONTAINERS, ContainerSchema, "ListedContainer")
ListedNode = _object_schema(NODES, NodeSchema, "ListedNode")
ListedPod = _object_schema(PODS, PodSchema, "ListedPod")
