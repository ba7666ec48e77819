"""A NUL character in any text a client sends is a 400 in the one error shape, on both engines, and changes nothing."""

import gzip
import json

import pytest

from conftest import bearer, container, sample_push
from kubewatch.nul_text import MESSAGE


def refused(response):
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json == {"code": 400, "status": "Bad Request", "message": MESSAGE}
    return True


def test_a_login_email_with_a_nul_is_refused_before_any_lookup(client, org):
    assert refused(client.post("/api/v1/auth/login", json={"email": "admin@acme.test\x00", "password": "x"}))


def test_a_path_with_a_nul_is_refused(client, org):
    assert refused(client.get("/api/v1/agents/agent%00x", headers=bearer(org.viewer)))
    assert refused(client.delete("/api/v1/agents/agent%00x", headers=bearer(org.admin)))


def test_a_query_with_a_nul_is_refused(client, org):
    assert refused(client.get("/api/v1/agents?name=a%00b", headers=bearer(org.viewer)))


@pytest.mark.parametrize("body", [
    sample_push(containers=[container("a1b2c3d4e5f6", "ngi\x00nx")]),
    sample_push(containers=[container("a1b2c3d4e5f6", "nginx", image="nginx:\x00")]),
    sample_push(containers=[container("a1b2c3d4e5f6\x00", "nginx")]),
], ids=["name", "image", "id"])
def test_a_push_with_a_nul_in_a_string_is_refused_and_stores_nothing(client, org, query, body):
    agent = org.register()
    assert refused(org.push(agent, body))
    assert query("SELECT COUNT(*) FROM pushes") == [(0,)]
    assert org.push(agent).status_code == 200  # the agent and its token are as they were


def test_a_compressed_push_with_a_nul_is_refused(client, org, query):
    agent = org.register()
    raw = json.dumps(sample_push(containers=[container("a1b2c3d4e5f6", "ngi\x00nx")])).encode()
    answer = client.post(f"/api/v1/agents/{agent['agentId']}/push", data=gzip.compress(raw),
                         headers={**bearer(agent["token"]), "Content-Encoding": "gzip",
                                  "Content-Type": "application/json"})
    assert refused(answer)
    assert query("SELECT COUNT(*) FROM pushes") == [(0,)]


def test_a_nul_in_a_key_or_registration_is_refused_and_registers_nothing(client, org, query):
    answer = client.post("/api/v1/agents/register", json={"name": "web\x00", "hostname": "web-1"},
                         headers={"X-API-Key": org.api_key})
    assert refused(answer)
    answer = client.post("/api/v1/agents/register", json={"name": "web", "hostname": "web-1", "x\x00": 1},
                         headers={"X-API-Key": org.api_key})
    assert refused(answer)
    assert query("SELECT COUNT(*) FROM agents") == [(0,)]


def test_a_sign_in_form_with_a_nul_is_refused_on_the_dashboard_s_error_page(client, org):
    answer = client.post("/login", data={"email": "admin@acme.test\x00", "password": "x"})
    assert answer.status_code == 400 and answer.mimetype == "text/html"  # pages answer errors as pages
    assert MESSAGE in answer.get_data(as_text=True)


def test_a_backslash_before_u0000_is_text_not_a_nul_and_is_stored_exactly(client, org):
    name = "back\\u0000slash ✓"
    agent = org.register(name=name)
    listed = client.get(f"/api/v1/agents/{agent['agentId']}", headers=bearer(org.viewer))
    assert listed.status_code == 200 and listed.json["name"] == name
