"""Reading a container's metrics back as a time series."""

import re
import time

from flask import current_app
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validates_schema

from kubewatch import access, series
from kubewatch.api import Blueprint
from kubewatch.api.fields import EpochTime
from kubewatch.repository import agents
from kubewatch.repository import series as stored

blp = Blueprint("metrics", __name__, url_prefix="/api/v1/agents", description="Metrics read back as time series.")

MAX_POINTS = 10_000
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Step(fields.Field):
    """Seconds, or a number with a unit: 30s, 1m, 1h, 1d."""

    def _deserialize(self, value, attr, data, **kwargs):
        found = re.fullmatch(r"(\d{1,9})([smhd]?)", str(value).strip())
        if not found or int(found.group(1)) == 0:
            raise ValidationError("Use whole seconds, or a number with s, m, h or d: 30s, 1m, 1h.")
        return int(found.group(1)) * _UNITS[found.group(2)]


class SeriesQuery(Schema):
    start = fields.AwareDateTime(data_key="from", format="iso")
    end = fields.AwareDateTime(data_key="to", format="iso")
    step = Step(metadata={"type": "string", "example": "1m"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if "start" in data and "end" in data and data["start"] > data["end"]:
            raise ValidationError("from must not be after to.", "from")


class PointSchema(Schema):
    t = EpochTime()
    cpuPercent = fields.Float(allow_none=True)
    cpuPercentMax = fields.Float(allow_none=True)
    memoryMB = fields.Float(allow_none=True)
    memoryMBMax = fields.Float(allow_none=True)
    memoryLimitMB = fields.Float(allow_none=True)
    networkRxBytesPerSec = fields.Float(allow_none=True)
    networkTxBytesPerSec = fields.Float(allow_none=True)
    restartCount = fields.Integer(allow_none=True)


class SeriesSchema(Schema):
    resolution = fields.String(metadata={"enum": ["raw", "1m", "1h"]})
    step = fields.Integer(allow_none=True)
    points = fields.List(fields.Nested(PointSchema))


@blp.get("/<agent_id>/containers/<container_id>/metrics")
@access.needs_user()
@blp.arguments(SeriesQuery, location="query")
@blp.response(200, SeriesSchema)
@blp.doc(security=[{"userToken": []}])
def container_metrics(query, agent_id, container_id, user):
    """Return a container's samples from `from` to `to` (default: the last hour), raw or in buckets of `step`."""
    if agents.agent_for_org(user["org_id"], agent_id) is None:
        abort(404, message=f"Agent {agent_id} doesn't exist.")
    if not stored.container_known(agent_id, container_id):
        abort(404, message=f"Agent {agent_id} has no container {container_id}.")
    end = int(query["end"].timestamp()) if "end" in query else int(time.time())
    start = int(query["start"].timestamp()) if "start" in query else end - 3600
    step = query.get("step")
    interval = current_app.config["PUSH_INTERVAL_SECONDS"]
    if (end - start) // (step or interval) > MAX_POINTS:
        abort(400, message=f"That would be more than {MAX_POINTS} points: ask for a shorter range or a larger step.")
    # One sample before the range seeds the first rate.
    samples = stored.container_samples(agent_id, container_id, start - 2 * interval, end)
    points = series.raw_points(samples, start)
    if step:
        points = series.bucketed_points(points, step)
    return {"resolution": "raw", "step": step, "points": points}
