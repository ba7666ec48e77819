"""Health: answers when the database answers, with the server's version and the database's schema version."""

from marshmallow import Schema, fields

import kubewatch
from kubewatch.api import Blueprint
from kubewatch.repository import health

blp = Blueprint("health", __name__, description="Liveness, without authentication.")


class HealthSchema(Schema):
    status = fields.String()
    version = fields.String(metadata={"description": "The server's release, e.g. 0.1.0."})
    schemaVersion = fields.Integer(metadata={"description": "The schema version the database is at."})


@blp.get("/healthz")
@blp.response(200, HealthSchema)
def healthz():
    """Answer ok, the release and the schema version when the database answers a query."""
    return {"status": "ok", "version": kubewatch.__version__, "schemaVersion": health.ping()}
