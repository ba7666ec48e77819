"""The Agents API: register, push, list and delete."""

import logging
import secrets
import threading
import time

from flask import current_app, jsonify
from flask_smorest import abort
from marshmallow import EXCLUDE, Schema, fields

from kubewatch import access, tokens
from kubewatch.api import Blueprint
from kubewatch.api.fields import EpochTime, text
from kubewatch.api.push_schema import PushSchema
from kubewatch.api.push_validation import load_push
from kubewatch.repository import agents, pushes

blp = Blueprint("agents", __name__, url_prefix="/api/v1/agents", description="Agents: register, push, list, delete.")

log = logging.getLogger("kubewatch.agents")

# Pushes are handled one at a time, parsing and validation included: under the GIL, concurrent
# pushes only take turns with more switching, and the writer lock turns them into a convoy.
# Measured with bench/ingest.py: 4 threads with this lock push 20-30 % more than without it.
ONE_PUSH_AT_A_TIME = threading.Lock()

# A push dated further ahead than this is refused: stored, it would stand as the agent's newest
# for years and keep every honest push from updating what the agent reports.
MAX_CLOCK_AHEAD = 600

PUSHED = b'{"ok": true}\n'

# An agent is connected while its last push is at most this many intervals old.
CONNECTED_INTERVALS = 3


class RegisterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = text(255, required=True)
    hostname = text(255, required=True)
    version = text(64)
    platform = text(32)


class RegisteredSchema(Schema):
    agentId = fields.String()
    token = fields.String()
    tokenExpiresIn = fields.Integer()
    pushIntervalSeconds = fields.Integer()


class PushedSchema(Schema):
    ok = fields.Boolean()


class AgentSchema(Schema):
    id = fields.String()
    name = fields.String()
    platform = fields.String(allow_none=True)
    hostname = fields.String()
    version = fields.String(allow_none=True)
    lastSeen = EpochTime(attribute="last_seen", allow_none=True)
    status = fields.String(metadata={"enum": ["connected", "disconnected", "pending"]})
    containerCount = fields.Integer(attribute="container_count")


class AgentDetailSchema(AgentSchema):
    createdAt = EpochTime(attribute="created_at")
    pushIntervalSeconds = fields.Integer()
    nodeCount = fields.Integer(attribute="node_count")
    podCount = fields.Integer(attribute="pod_count")


def new_agent_id():
    """Return a candidate agent id: `agent_` and 8 lowercase hex characters."""
    return "agent_" + secrets.token_hex(4)


def agent_json(agent, now, interval):
    """Return an agent as the API shows it in lists, with AgentSchema's fields in its order."""
    return {
        "id": agent["id"], "name": agent["name"], "platform": agent["platform"], "hostname": agent["hostname"],
        "version": agent["version"], "lastSeen": EpochTime.format(agent["last_seen"]),
        "status": agent_status(agent, now, interval), "containerCount": agent["container_count"],
    }


def agent_status(agent, now, interval):
    """Return connected, disconnected, or pending for an agent that never pushed."""
    if agent["last_seen"] is None:
        return "pending"
    return "connected" if now - agent["last_seen"] <= CONNECTED_INTERVALS * interval else "disconnected"


@blp.post("/register")
@access.needs_api_key
@blp.arguments(RegisterSchema)
@blp.response(200, RegisteredSchema)
@blp.doc(security=[{"apiKey": []}])
def register(body, org_id):
    """Register an agent and hand it a short-lived token."""
    agent_id = agents.register_agent(org_id, body["name"], body["hostname"], body.get("version"),
                                     body.get("platform"), int(time.time()), new_agent_id)
    log.info("agent %s registered: %s on %s, version %s", agent_id, body["name"], body["hostname"],
             body.get("version"))
    config = current_app.config
    return {
        "agentId": agent_id,
        "token": tokens.sign_agent_token(agent_id, org_id),
        "tokenExpiresIn": config["AGENT_TOKEN_TTL"],
        "pushIntervalSeconds": config["PUSH_INTERVAL_SECONDS"],
    }


class ClockRefused(Exception):
    """A push's timestamp is too far ahead of the server's clock, or older than the raw tier keeps."""


def accept_push(agent_id, body):
    """Store a loaded push unless its timestamp is refused (ClockRefused); return False when the agent is gone."""
    ts, received_at = int(body.timestamp.timestamp()), int(time.time())
    if ts > received_at + MAX_CLOCK_AHEAD:
        raise ClockRefused(f"More than {MAX_CLOCK_AHEAD} s ahead of the server's clock: check the agent's clock.")
    # Older samples than the raw tier keeps would land in minutes already rolled up and pruned.
    retention = current_app.config["RAW_RETENTION"]
    if ts < received_at - retention:
        raise ClockRefused(f"Older than the {retention} s of raw samples this server keeps.")
    return pushes.store_push(agent_id, ts, received_at, body._asdict())


def pushed_response():
    """Return the push's answer, as PushedSchema documents it."""
    # Bytes made once: dumping them through the schema on every push cost more than storing the push.
    return current_app.response_class(PUSHED, mimetype="application/json")


@blp.post("/<agent_id>/push")
@access.needs_agent_token
@blp.response(200, PushedSchema)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.doc(security=[{"agentToken": []}],
         requestBody={"required": True, "content": {"application/json": {"schema": PushSchema}}})
def push(agent_id):
    """Store one push of an agent's metrics."""
    # Most pushes are stored and answered before Flask sees them, as this view would: see push_shortcut.py.
    with ONE_PUSH_AT_A_TIME:
        body = load_push(blp.ARGUMENTS_PARSER)
        try:
            stored = accept_push(agent_id, body)
        except ClockRefused as refused:
            abort(400, errors={"json": {"timestamp": [str(refused)]}})
    if not stored:
        abort(401, message=access.REGISTER_AGAIN)
    return pushed_response()


@blp.get("")
@access.needs_user()
@blp.response(200, AgentSchema(many=True))
@blp.doc(security=[{"userToken": []}])
def list_agents(user):
    """List the agents of the caller's organization."""
    now, interval = int(time.time()), current_app.config["PUSH_INTERVAL_SECONDS"]
    # Built by hand and returned as a response, which flask-smorest passes through: a thousand
    # agents through AgentSchema's dump took longer than the query. AgentSchema documents it.
    return jsonify([agent_json(agent, now, interval) for agent in agents.agents_for_org(user["org_id"])])


@blp.get("/<agent_id>")
@access.needs_user()
@blp.response(200, AgentDetailSchema)
@blp.doc(security=[{"userToken": []}])
def get_agent(agent_id, user):
    """Return one agent of the caller's organization, with its counts of nodes and pods."""
    agent = agents.agent_for_org(user["org_id"], agent_id)
    if agent is None:
        abort(404, message=f"Agent {agent_id} doesn't exist.")
    now, interval = int(time.time()), current_app.config["PUSH_INTERVAL_SECONDS"]
    return jsonify({**agent_json(agent, now, interval), "createdAt": EpochTime.format(agent["created_at"]),
                    "pushIntervalSeconds": interval, "nodeCount": agent["node_count"], "podCount": agent["pod_count"]})


@blp.delete("/<agent_id>")
@access.needs_user(role="admin")
@blp.response(204)
@blp.doc(security=[{"userToken": []}])
def delete_agent(agent_id, user):
    """Delete an agent and all its stored metrics; admins only."""
    if not agents.delete_agent(user["org_id"], agent_id):
        abort(404, message=f"Agent {agent_id} doesn't exist.")
    log.info("agent %s deleted by %s", agent_id, user["email"])
