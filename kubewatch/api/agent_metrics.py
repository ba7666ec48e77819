"""An agent's metrics as a whole, and what its containers did lately."""

from flask import current_app
from flask_smorest import abort
from marshmallow import Schema, fields

from kubewatch import series_query, totals
from kubewatch.api import Blueprint, access
from kubewatch.api.answers import Shape
from kubewatch.api.fields import EpochTime
from kubewatch.api.metrics import agent_or_404, query_range
from kubewatch.api.metrics_schemas import SeriesQuery
from kubewatch.api.precision import PLACES, RATE_PLACES, Rounded

blp = Blueprint("agent_metrics", __name__, url_prefix="/api/v1/agents",
                description="An agent's metrics as a whole: its containers' (or nodes') added up.")

class TotalPoint(Schema):
    # Sums of floats carry float noise: rounded as the objects' own series are.
    t = EpochTime()
    cpuPercent = Rounded(PLACES, allow_none=True)
    cpuPercentMax = Rounded(PLACES, allow_none=True, metadata={"description": "Buckets only; the sum of maxima."})
    memoryMB = Rounded(PLACES, allow_none=True)
    memoryMBMax = Rounded(PLACES, allow_none=True, metadata={"description": "Buckets only; the sum of maxima."})
    networkRxBytesPerSec = Rounded(RATE_PLACES, allow_none=True)
    networkTxBytesPerSec = Rounded(RATE_PLACES, allow_none=True)


class TotalSeries(Schema):
    resolution = fields.String(metadata={"enum": ["raw", "1m", "1h"]})
    step = fields.Integer(allow_none=True)
    of = fields.String(metadata={"enum": ["containers", "nodes"], "description": "What was added up."})
    points = fields.List(fields.Nested(TotalPoint))


TOTAL = Shape(TotalSeries)


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
    return TOTAL.one(found)
