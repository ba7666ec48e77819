"""GET /metrics: the organization's latest state and the server's health, in Prometheus's text format."""

import itertools
import time

from flask import current_app
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from kubewatch import exporter
from kubewatch.api import Blueprint, access
from kubewatch.api.agents import CONNECTED_INTERVALS
from kubewatch.server_metrics import ServerHealth

blp = Blueprint("prometheus", __name__, description="Prometheus exposition, for a read-only API key.")


@blp.get("/metrics")
@access.needs_user()
@blp.doc(security=[{"readKey": []}, {"userToken": []}], responses={
    "200": {"description": "Prometheus text format 0.0.4.", "content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(user):
    """Export every object of the caller's organization's latest pushes, and the server's health."""
    connected_within = CONNECTED_INTERVALS * current_app.config["PUSH_INTERVAL_SECONDS"]
    found = exporter.latest(user["org_id"], connected_within, int(time.time()))
    health = generate_latest(ServerHealth(current_app._get_current_object(), user["org_id"]))
    # Streamed in parts (chunked): a large organization's text is tens of megabytes, and held whole,
    # then encoded, it cost more time and memory than writing it. Everything is read before the first part.
    body = itertools.chain(exporter.exposition_parts(found), [health])
    return current_app.response_class(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
