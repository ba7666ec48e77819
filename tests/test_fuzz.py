"""Hostile input against the real server: every documented operation, fuzzed from the OpenAPI document."""

import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from live_server import LiveServer

ADMIN = {"email": "ops@example.com", "password": "a long admin password"}
OBJECTS = {"containers": [{"id": "c1", "name": "web", "cpuPercent": 1.5, "memoryMB": 64, "networkRxBytes": 10}],
           "nodes": [{"name": "node-1", "status": "Ready", "cpuPercent": 20, "podCount": 3}],
           "pods": [{"name": "web-1", "namespace": "shop", "phase": "Running", "ready": True, "cpuPercent": 2}]}


@pytest.fixture(scope="module")
def live(db_engine, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("fuzz"), ADMIN_EMAIL=ADMIN["email"], ADMIN_PASSWORD=ADMIN["password"],
                        AUTH_FAILURE_LIMIT=1000000).start()
    key = server.first_run_key()
    agent = requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": key},
                          json={"name": "fuzzed", "hostname": "fuzz-host"}).json()
    admin = requests.post(server.url + "/api/v1/auth/login", json=ADMIN).json()["token"]
    # Something to read back: one object of each kind, so that reads are fuzzed against stored data too.
    pushed = requests.post(f"{server.url}/api/v1/agents/{agent['agentId']}/push",
                           headers={"Authorization": f"Bearer {agent['token']}"}, json={
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **OBJECTS})
    assert pushed.status_code == 200, pushed.text
    yield {"server": server, "key": key, "agent": agent, "admin": admin}
    server.stop()


def operations():
    """Every operation of the served document, loaded once the server runs."""
    return ["POST /api/v1/agents/register", "POST /api/v1/agents/{agent_id}/push", "GET /api/v1/agents",
            "DELETE /api/v1/agents/{agent_id}", "POST /api/v1/auth/login", "POST /api/v1/api-keys",
            "GET /api/v1/api-keys", "DELETE /api/v1/api-keys/{key_id}", "GET /healthz", "GET /metrics",
            "GET /api/v1/agents/{agent_id}/containers/{container_id}/metrics",
            "GET /api/v1/agents/{agent_id}", "GET /api/v1/agents/{agent_id}/containers",
            "GET /api/v1/agents/{agent_id}/nodes", "GET /api/v1/agents/{agent_id}/pods",
            "GET /api/v1/agents/{agent_id}/nodes/{name}/metrics",
            "GET /api/v1/agents/{agent_id}/pods/{namespace}/{name}/metrics",
            "POST /api/v1/notification-channels", "GET /api/v1/notification-channels",
            "DELETE /api/v1/notification-channels/{channel_id}", "POST /api/v1/notification-channels/{channel_id}/test",
            "POST /api/v1/alert-rules", "GET /api/v1/alert-rules", "PATCH /api/v1/alert-rules/{rule_id}",
            "DELETE /api/v1/alert-rules/{rule_id}", "GET /api/v1/alerts", "POST /api/v1/silences",
            "GET /api/v1/silences", "DELETE /api/v1/silences/{silence_id}",
            "GET /api/v1/agents/{agent_id}/metrics", "GET /api/v1/users", "POST /api/v1/users",
            "PATCH /api/v1/users/{user_id}", "POST /api/v1/users/{user_id}/password", "DELETE /api/v1/users/{user_id}",
            "PUT /api/v1/users/me/password"]


def credentials_for(case, live):
    """Return the headers of valid credentials for the operation, pointing pushes at a real agent."""
    path = case.operation.path
    if path == "/api/v1/agents/register":
        return {"X-API-Key": live["key"]}
    if path.endswith("/push"):
        case.path_parameters["agent_id"] = live["agent"]["agentId"]
        return {"Authorization": f"Bearer {live['agent']['token']}"}
    if case.method == "GET" and "{agent_id}" in path and len(case.path_parameters["agent_id"]) % 2:
        # Half the reads (as generated: deterministic) are of the agent that pushed and of what it pushed.
        stored = {"agent_id": live["agent"]["agentId"], "container_id": "c1", "namespace": "shop",
                  "name": "node-1" if "/nodes/" in path else "web-1"}
        case.path_parameters.update({name: value for name, value in stored.items() if f"{{{name}}}" in path})
    return {"Authorization": f"Bearer {live['admin']}"}


def test_the_fuzzed_operations_are_every_documented_one(live):
    document = requests.get(live["server"].url + "/api/v1/openapi.json").json()
    documented = {f"{method.upper()} {path}" for path, item in document["paths"].items()
                  for method in item if method != "parameters"}
    assert documented == set(operations())


@pytest.mark.slow
@pytest.mark.parametrize("label", operations())
def test_no_operation_answers_5xx_or_breaks_its_documented_schema(live, label):
    schema = schemathesis.openapi.from_url(live["server"].url + "/api/v1/openapi.json")
    method, path = label.split(" ")
    operation = schema[path][method]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=operation.as_strategy())
    def fuzz(case):
        case.call_and_validate(
            headers=credentials_for(case, live),
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        )

    fuzz()
