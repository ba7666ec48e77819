"""The Users API: admins invite, list, change and remove the people of their own organization."""

import pytest

from conftest import PASSWORD, bearer


def users(org, token=None):
    answer = org.client.get("/api/v1/users", headers=bearer(token or org.admin))
    assert answer.status_code == 200, answer.json
    return {user["email"]: user for user in answer.json}


def invite(org, **body):
    return org.client.post("/api/v1/users", json={"email": "new@acme.test", "role": "viewer", **body},
                           headers=bearer(org.admin))


def test_an_admin_invites_a_user_with_a_generated_password_shown_once(org):
    answer = invite(org, email="  New@Acme.test ")
    assert answer.status_code == 201
    assert set(answer.json) == {"id", "email", "role", "createdAt", "password"}
    assert (answer.json["email"], answer.json["role"]) == ("new@acme.test", "viewer")
    assert org.login("new@acme.test", answer.json["password"])
    assert "password" not in users(org)["new@acme.test"]


def test_an_admin_invites_a_user_with_a_typed_password(org):
    answer = invite(org, password="typed password", role="admin")
    assert answer.status_code == 201 and "password" not in answer.json
    assert org.login("new@acme.test", "typed password")


@pytest.mark.parametrize("body, field", [({"email": "not-an-email"}, "email"), ({"role": "owner"}, "role"),
                                         ({"password": "short"}, "password"), ({"email": ""}, "email")])
def test_an_invite_with_a_bad_field_is_400_and_adds_nobody(org, body, field):
    answer = invite(org, **body)
    assert answer.status_code == 400 and field in answer.json["errors"]["json"]
    assert sorted(users(org)) == ["admin@acme.test", "viewer@acme.test"]


def test_an_email_in_use_anywhere_is_409(org, other_org):
    assert invite(org, email="viewer@globex.test").status_code == 409


def test_users_are_listed_for_the_callers_organization_only(org, other_org):
    assert sorted(users(org)) == ["admin@acme.test", "viewer@acme.test"]
    assert sorted(users(other_org)) == ["admin@globex.test", "viewer@globex.test"]


def test_a_viewer_may_not_manage_users(org):
    viewer = bearer(org.viewer)
    someone = users(org)["admin@acme.test"]["id"]
    for method, path, body in (("GET", "/api/v1/users", None), ("POST", "/api/v1/users", {"email": "x@y.z", "role": "admin"}),
                               ("PATCH", f"/api/v1/users/{someone}", {"role": "viewer"}),
                               ("POST", f"/api/v1/users/{someone}/password", {}),
                               ("DELETE", f"/api/v1/users/{someone}", None)):
        assert org.client.open(path, method=method, json=body, headers=viewer).status_code == 403
    assert users(org)["admin@acme.test"]["role"] == "admin"


def test_an_admin_cannot_touch_another_organizations_users(org, other_org):
    theirs = users(other_org)["viewer@globex.test"]["id"]
    admin = bearer(org.admin)
    assert org.client.patch(f"/api/v1/users/{theirs}", json={"role": "admin"}, headers=admin).status_code == 404
    assert org.client.post(f"/api/v1/users/{theirs}/password", json={}, headers=admin).status_code == 404
    assert org.client.delete(f"/api/v1/users/{theirs}", headers=admin).status_code == 404
    assert users(other_org)["viewer@globex.test"]["role"] == "viewer"


def test_changing_a_role_and_the_last_admin_is_kept(org):
    listed = users(org)
    admin, viewer = listed["admin@acme.test"]["id"], listed["viewer@acme.test"]["id"]
    token = bearer(org.admin)
    refused = org.client.patch(f"/api/v1/users/{admin}", json={"role": "viewer"}, headers=token)
    assert refused.status_code == 409 and "at least one admin" in refused.json["message"]
    assert org.client.delete(f"/api/v1/users/{admin}", headers=token).status_code == 409
    promoted = org.client.patch(f"/api/v1/users/{viewer}", json={"role": "admin"}, headers=token)
    assert promoted.status_code == 200 and promoted.json["role"] == "admin"
    assert org.client.patch(f"/api/v1/users/{admin}", json={"role": "viewer"}, headers=token).status_code == 200
    assert users(org, org.viewer)["admin@acme.test"]["role"] == "viewer"


def test_removing_a_user_ends_their_access(org):
    viewer_token = org.viewer
    viewer = users(org)["viewer@acme.test"]["id"]
    assert org.client.delete(f"/api/v1/users/{viewer}", headers=bearer(org.admin)).status_code == 204
    assert org.client.get("/api/v1/agents", headers=bearer(viewer_token)).status_code == 401
    assert org.client.delete(f"/api/v1/users/{viewer}", headers=bearer(org.admin)).status_code == 404


def test_an_admin_resets_a_password_generated_or_typed(org):
    viewer = users(org)["viewer@acme.test"]["id"]
    generated = org.client.post(f"/api/v1/users/{viewer}/password", json={}, headers=bearer(org.admin))
    assert generated.status_code == 200
    assert org.login("viewer@acme.test", generated.json["password"])
    typed = org.client.post(f"/api/v1/users/{viewer}/password", json={"password": "a typed one"},
                            headers=bearer(org.admin))
    assert typed.status_code == 200 and typed.json == {}
    assert org.login("viewer@acme.test", "a typed one")


def test_everyone_changes_their_own_password_giving_the_current_one(org):
    token = bearer(org.viewer)
    wrong = org.client.put("/api/v1/users/me/password", json={"currentPassword": "nope", "newPassword": "new one!"},
                           headers=token)
    assert wrong.status_code == 400 and "currentPassword" in wrong.json["errors"]["json"]
    done = org.client.put("/api/v1/users/me/password", json={"currentPassword": PASSWORD, "newPassword": "new one!"},
                          headers=token)
    assert done.status_code == 204
    assert org.login("viewer@acme.test", "new one!")
    assert org.client.post("/api/v1/auth/login", json={"email": "viewer@acme.test", "password": PASSWORD}
                           ).status_code == 401
