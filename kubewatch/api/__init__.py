"""The HTTP API: one blueprint per resource, documented at /api/v1/openapi.json and browsable at /api/docs."""

from pathlib import Path

import flask
import flask_smorest

from kubewatch.api import access, errors
from kubewatch.api.fields import EpochTime
from kubewatch.api.internals import JSONParser


SWAGGER_UI_ASSETS = Path(__file__).parent / "swagger_ui"


class _Parser(JSONParser):
    # A body that breaks the schema is a bad request, like malformed JSON.
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint whose validation errors answer 400."""

    ARGUMENTS_PARSER = _Parser()


class _Api(flask_smorest.Api):
    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


SECURITY_SCHEMES = {
    "userToken": {"type": "http", "scheme": "bearer",
                  "description": "A user token from POST /api/v1/auth/login."},
    "agentToken": {"type": "http", "scheme": "bearer",
                   "description": "An agent token from POST /api/v1/agents/register."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "readKey": {"type": "http", "scheme": "bearer",
                "description": "A read-only API key (kw_read_...) from POST /api/v1/api-keys with scope read."},
}


def init_app(app):
    """Register every resource's blueprint and serve the OpenAPI document."""
    from kubewatch.api import (agent_metrics, agents, alert_rules, alerts, auth, channels, health, keys, metrics,
                               prometheus, users)

    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "v1/openapi.json")
    # Swagger UI from the swagger-ui-dist release vendored beside this module: nothing is fetched
    # from another host (its default validator badge would call validator.swagger.io).
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/api/docs/assets/")
    app.config.setdefault("OPENAPI_SWAGGER_UI_CONFIG", {"validatorUrl": None})
    app.register_blueprint(flask.Blueprint("swagger_ui", __name__, static_folder=SWAGGER_UI_ASSETS,
                                           static_url_path="/api/docs/assets"))
    api = _Api(app)
    api.register_field(EpochTime, "string", "date-time")
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    for module in (agents, metrics, agent_metrics, auth, keys, users, channels, alert_rules, alerts, health,
                   prometheus):
        api.register_blueprint(module.blp)
    app.after_request(_security_headers)


def _security_headers(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Answers carry tokens, keys, passwords and an organization's data: no cache may keep them.
    response.headers.setdefault("Cache-Control", "no-store")
    if response.status_code == 401:  # RFC 9110: a 401 names how to authenticate
        response.headers.setdefault("WWW-Authenticate", access.CHALLENGES["bearer"])
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)  # no body, so no type
    return response
