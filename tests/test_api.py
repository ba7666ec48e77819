"""The API package: the OpenAPI document comes from the schemas that validate."""

def test_openapi_document_is_served_from_the_schemas(client):
    document = client.get("/api/v1/openapi.json").json
    assert {"/api/v1/agents/register", "/api/v1/agents/{agent_id}/push", "/api/v1/agents",
            "/api/v1/agents/{agent_id}", "/api/v1/auth/login", "/api/v1/api-keys", "/healthz"} <= set(document["paths"])
    push = document["components"]["schemas"]["Push"]
    assert push["required"] == ["containers", "timestamp"]
    container = document["components"]["schemas"]["Container"]
    assert {"id", "name", "cpuPercent", "memoryMB", "networkRxBytes"} <= set(container["properties"])


def test_validation_errors_are_documented_as_400(client):
    document = client.get("/api/v1/openapi.json").json
    responses = document["paths"]["/api/v1/agents/{agent_id}/push"]["post"]["responses"]
    assert "400" in responses and "422" not in responses


def test_security_schemes_are_documented(client):
    schemes = client.get("/api/v1/openapi.json").json["components"]["securitySchemes"]
    assert set(schemes) == {"userToken", "agentToken", "apiKey", "readKey"}
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
