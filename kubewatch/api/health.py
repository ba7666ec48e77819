"""Health: answers when the database answers."""

from marshmallow import Schema, fields

from kubewatch.api import Blueprint
from kubewatch.repository import health

blp = Blueprint("health", __name__, description="Liveness, without authentication.")


class HealthSchema(Schema):
    status = fields.String()


@blp.get("/healthz")
@blp.response(200, HealthSchema)
def healthz():
    """Answer ok when the database answers a query."""
    health.ping()
    return {"status": "ok"}
