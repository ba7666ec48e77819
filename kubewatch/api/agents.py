"""The Agents API: register, push, list and delete."""

import json
import logging
import secrets
import time

from flask import current_app, jsonify, request
from flask_smorest import abort
from werkzeug.exceptions import HTTPException

from kubewatch import agent_watch, push_limits, tokens
from kubewatch.api import Blueprint, access
from kubewatch.api.agent_schemas import AgentDetailSchema, AgentSchema, PushedSchema, RegisterSchema, RegisteredSchema
from kubewatch.api.answers import Shape
from kubewatch.api.errors import found_or_404
from kubewatch.api.push_schema import PushSchema
from kubewatch.api.push_validation import load_push
from kubewatch.logsafe import shown
from kubewatch.ingest import receive_push
from kubewatch.push_limits import PushRefused
from kubewatch.repository import agents, pushes

blp = Blueprint("agents", __name__, url_prefix="/api/v1/agents", description="Agents: register, push, list, delete.")

log = logging.getLogger("kubewatch.agents")

PUSHED = b'{"ok": true}\n'
LEFT_OUT = ("The database is near its size limit (database_size_limit_mb): the objects of this push already "
            "known were stored, its new ones were not.")

# An agent is connected while its last push is at most this many intervals old.
CONNECTED_INTERVALS = 3


LISTED, DETAIL = Shape(AgentSchema), Shape(AgentDetailSchema)


def new_agent_id():
    """Return a candidate agent id: `agent_` and 8 lowercase hex characters."""
    return "agent_" + secrets.token_hex(4)


def agent_json(agent, now, interval):
    """Return an agent row as the API shows it in lists (AgentSchema), its status found at now."""
    agent["status"] = agent_status(agent, now, interval)
    return LISTED(agent)


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
def register(body, api_key):
    """Register an agent and hand it a short-lived token, good until it expires or the key is revoked."""
    org_id, key_id = api_key
    agent_id = agents.register_agent(org_id, body["name"], body["hostname"], body.get("version"),
                                     body.get("platform"), int(time.time()), new_agent_id, body["instance_id"])
    log.info("agent %s registered: %s on %s, version %s", agent_id, shown(body["name"]), shown(body["hostname"]),
             shown(body.get("version")))
    config = current_app.config
    return {
        "agentId": agent_id,
        "token": tokens.sign_agent_token(agent_id, org_id, key_id),
        "tokenExpiresIn": config["AGENT_TOKEN_TTL"],
        "pushIntervalSeconds": config["PUSH_INTERVAL_SECONDS"],
    }


def refusal(refused):
    """Return the HTTPException a PushRefused is answered with: a field error, or a message (429 with Retry-After)."""
    try:
        if refused.field:
            abort(refused.status, errors={"json": {refused.field: [str(refused)]}})
        abort(refused.status, message=str(refused),
              headers={"Retry-After": str(refused.retry_after)} if refused.retry_after else None)
    except HTTPException as error:
        return error


def pushed_body(outcome):
    """Return the push's answer's bytes: {"ok": true}, and what was left out when new objects were."""
    if not outcome.left_out:
        return PUSHED  # made once: dumping it through the schema on every push cost more than storing the push
    return json.dumps({"ok": True, "message": LEFT_OUT, "leftOut": outcome.left_out}).encode() + b"\n"


def pushed_response(outcome=pushes.STORED):
    """Return the push's answer, as PushedSchema documents it."""
    return current_app.response_class(pushed_body(outcome), mimetype="application/json")


@blp.post("/<agent_id>/push")
@access.needs_agent_token
@blp.response(200, PushedSchema)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.alt_response(413, description="More objects than max_objects_per_push, or past max_described_objects.")
@blp.alt_response(429, description="More pushes than pushes_per_interval: retry after Retry-After seconds.")
@blp.doc(security=[{"agentToken": []}],
         requestBody={"required": True, "content": {"application/json": {"schema": PushSchema}}})
def push(agent_id):
    """Store one push of an agent's metrics."""
    # Most pushes are stored and answered before Flask sees them, as this view would: see kubewatch/push_shortcut.py.
    try:
        if not request.environ.get(push_limits.RATE_SPENT):  # the shortcut spent it, then handed the push on
            push_limits.check_rate(agent_id)
        if request.is_json:  # counted before any object is decoded
            push_limits.check_count(request.get_data(cache=True))
        registration = access.agent_of(request.headers.get("Authorization", ""))[2]  # checked by needs_agent_token
        outcome = receive_push(agent_id, load_push, blp.ARGUMENTS_PARSER, request.headers.get("Date"), registration,
                               request.content_length)
    except PushRefused as refused:
        raise refusal(refused) from None
    if not outcome.agent_found:
        abort(401, message=access.REGISTER_AGAIN, headers={"WWW-Authenticate": access.CHALLENGES["bearer"]})
    return pushed_response(outcome)


@blp.get("")
@access.needs_user()
@blp.response(200, AgentSchema(many=True))
@blp.doc(security=[{"userToken": []}])
def list_agents(user):
    """List the agents of the caller's organization."""
    now, interval = int(time.time()), current_app.config["PUSH_INTERVAL_SECONDS"]
    return jsonify([agent_json(agent, now, interval) for agent in agents.agents_for_org(user["org_id"])])


@blp.get("/<agent_id>")
@access.needs_user()
@blp.response(200, AgentDetailSchema)
@blp.doc(security=[{"userToken": []}])
def get_agent(agent_id, user):
    """Return one agent of the caller's organization, with its counts of nodes and pods."""
    agent = found_or_404(agents.agent_for_org(user["org_id"], agent_id), f"Agent {agent_id}")
    interval = current_app.config["PUSH_INTERVAL_SECONDS"]
    agent.update(status=agent_status(agent, int(time.time()), interval), pushIntervalSeconds=interval)
    return DETAIL.one(agent)


@blp.delete("/<agent_id>")
@access.needs_user(role="admin")
@blp.response(204)
@blp.doc(security=[{"userToken": []}])
def delete_agent(agent_id, user):
    """Delete an agent and all its stored metrics; admins only."""
    found_or_404(agents.delete_agent(user["org_id"], agent_id), f"Agent {agent_id}")
    agent_watch.watch().forget(agent_id)
    log.info("agent %s deleted by %s", shown(agent_id), shown(user["email"]))
