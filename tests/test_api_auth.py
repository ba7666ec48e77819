"""Signing in with email and password."""

import pytest

from conftest import PASSWORD, bearer


def test_login_returns_a_user_token_and_its_lifetime(client, org):
    response = client.post("/api/v1/auth/login", json={"email": "admin@acme.test", "password": PASSWORD})
    assert response.status_code == 200
    assert list(response.json) == ["token", "expiresIn"]
    assert response.json["expiresIn"] == 86400
    assert client.get("/api/v1/agents", headers=bearer(response.json["token"])).status_code == 200


def test_login_ignores_case_and_spaces_in_the_email(client, org):
    response = client.post("/api/v1/auth/login", json={"email": " Admin@ACME.test ", "password": PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize("email, password", [
    ("admin@acme.test", "wrong password"),
    ("nobody@acme.test", PASSWORD),
    ("admin@acme.test", PASSWORD.upper()),
])
def test_login_with_wrong_credentials_is_401_with_one_message(client, org, email, password):
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 401
    assert response.json["message"] == "Email or password is wrong."


@pytest.mark.parametrize("body, field", [
    ({"password": PASSWORD}, "email"),
    ({"email": "admin@acme.test"}, "password"),
    ({"email": "admin@acme.test", "password": ""}, "password"),
    ({"email": 1, "password": PASSWORD}, "email"),
])
def test_login_with_a_bad_body_is_400(client, org, body, field):
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 400
    assert field in response.json["errors"]["json"]
