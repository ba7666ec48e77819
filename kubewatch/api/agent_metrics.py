"""An agent's metrics as a whole, and what its containers did lately."""


from flask import current_app, jsonify
from flask_smorest import abort
from marshmallow import Schema, fields

from kubewatch import series_query, totals
from kubewatch.api import Blueprint, access
from kubewatch.api.fields import EpochTime
from kubewatch.api.metrics import agent_or_404, query_range
from kubewatch.api.metrics_schemas import SeriesQuery
from kubewatch.api.precision import PLACES, RATE_PLACES, rounded

blp = Blueprint("agent_metrics", __name__, url_prefix="/api/v1/agents",
                description="An agent's metrics as a whole: its containers' (or nodes') added up.")

# Sums of floats carry float noise: rounded as the objects' own series are.
_FLOATS = (("cpuPercent", PLACES), ("cpuPercentMax", PLACES), ("memoryMB", PLACES), ("memoryMBMax", PLACES),
           ("networkRxBytesPerSec", RATE_PLACES), ("networkTxBytesPerSec", RATE_PLACES))


class TotalPoint(Schema):
    t = EpochTime()
    cpuPercent = fields.Float(allow_none=True)
    cpuPercentMax = fields.Float(allow_none=True, metadata={"description": "Buckets only; the sum of maxima."})
    memoryMB = fields.Float(allow_none=True)
    memoryMBMax = fields.Float(allow_none=True, metadata={"description": "Buckets only; the sum of maxima."})
    networkRxBytesPerSec = fields.Float(allow_none=True)
    networkTxBytesPerSec = fields.Float(allow_none=True)


class TotalSeries(Schema):
    resolution = fields.String(metadata={"enum": ["raw", "1m", "1h"]})
    step = fields.Integer(allow_none=True)
    of = fields.String(metadata={"enum": ["containers", "nodes"], "description": "What was added up."})
    points = fields.List(fields.Nested(TotalPoint))


@blp.get("/<agent_id>/metrics")
@access.needs_user()
@blp.arguments(SeriesQuery, location="query")
@blp.response(200, TotalSeries)
@blp.doc(security=[{"userToken": []}])
def agent_metrics(query, agent_id, user):
    """Return the agent's containers' metrics added up (its nodes' for Kubernetes and host agents), as series."""
    agent = agent_or_404(user, agent_id)
    start, end, now = query_range(query, agent)
    try:
        found = totals.agent_series(agent, start, end, query.get("step"), now, current_app.config)
    except series_query.QueryError as error:
        abort(400, message=str(error))
    for point in found["points"]:
        point["t"] = EpochTime.format(point["t"])
        rounded(point, _FLOATS)
    return jsonify(found)
