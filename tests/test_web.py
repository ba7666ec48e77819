"""The dashboard's sign-in, its session cookie and the CSRF check, through Flask's test client."""

import re

import pytest

import engines
from conftest import PASSWORD, bearer
from kubewatch import create_app
from kubewatch import push_shortcut

TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def signed_in(client, email="admin@acme.test", password=PASSWORD, **kwargs):
    """Sign in through the form; return the CSRF token of the page that follows."""
    form = client.get("/login", **kwargs)
    token = TOKEN.search(form.text).group(1)
    answer = client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": "/"},
                         **kwargs)
    assert answer.status_code == 302, answer.text
    return TOKEN.search(client.get("/", **kwargs).text).group(1)


def test_pages_without_a_session_redirect_to_login_and_back(client, org):
    answer = client.get("/agents/agent_12345678?x=1")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/agents/agent_12345678?x%3D1"


@pytest.mark.parametrize("target, landing", [("/keys", "/keys"), ("https://evil.example/", "/"),
                                             ("//evil.example/", "/"), ("javascript:alert(1)", "/")])
def test_signing_in_goes_on_to_next_only_on_this_server(client, org, target, landing):
    token = TOKEN.search(client.get("/login").text).group(1)
    answer = client.post("/login", data={"email": "admin@acme.test", "password": PASSWORD, "csrf_token": token,
                                         "next": target})
    assert answer.headers["Location"] == landing


def test_the_session_cookie_is_http_only_lax_and_secure_only_over_https(client, org):
    signed_in(client)
    cookie = client.get_cookie("kubewatch_session")
    assert (cookie.http_only, cookie.same_site, cookie.secure) == (True, "Lax", False)
    secure = client.application.test_client()
    # Over HTTPS Flask-WTF also wants a same-origin Referer, as a browser sends.
    signed_in(secure, base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    assert secure.get_cookie("kubewatch_session").secure is True


def test_a_wrong_password_shows_the_form_again_and_counts_toward_the_apis_throttle(app, client, org):
    app.config["AUTH_FAILURE_LIMIT"] = 3
    token = TOKEN.search(client.get("/login").text).group(1)
    for _ in range(3):
        answer = client.post("/login", data={"email": "admin@acme.test", "password": "wrong", "csrf_token": token})
        assert answer.status_code == 401 and "Email or password is wrong." in answer.text
    throttled = client.post("/login", data={"email": "admin@acme.test", "password": PASSWORD, "csrf_token": token})
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    api = client.post("/api/v1/auth/login", json={"email": "admin@acme.test", "password": PASSWORD})
    assert api.status_code == 429


def test_the_api_takes_the_session_cookie_and_state_changes_need_the_csrf_token(client, org):
    token = signed_in(client)
    assert client.get("/api/v1/api-keys").status_code == 200
    before = client.get("/api/v1/api-keys").json
    refused = client.post("/api/v1/api-keys", json={"name": "no token"})
    assert refused.status_code == 400 and refused.json["message"] == "The CSRF token is missing."
    assert client.post("/api/v1/api-keys", json={"name": "bad"}, headers={"X-CSRFToken": "x"}).status_code == 400
    assert client.get("/api/v1/api-keys").json == before
    made = client.post("/api/v1/api-keys", json={"name": "with token"}, headers={"X-CSRFToken": token})
    assert made.status_code == 201


def test_bearer_clients_need_no_csrf_token_even_with_a_cookie(client, org):
    signed_in(client)
    made = client.post("/api/v1/api-keys", json={"name": "bearer"}, headers=bearer(org.admin))
    assert made.status_code == 201


def test_a_form_post_without_the_token_changes_nothing(client, org):
    signed_in(client)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_signing_out_ends_the_session(client, org):
    token = signed_in(client)
    assert client.post("/logout", data={"csrf_token": token}).headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/agents").status_code == 401


def test_a_viewer_gets_403_on_admin_pages_and_sees_no_admin_links(client, org):
    signed_in(client, "viewer@acme.test")
    page = client.get("/")
    assert 'href="/keys"' not in page.text and 'href="/users"' not in page.text
    for path in ("/keys", "/users"):
        answer = client.get(path)
        assert answer.status_code == 403 and "Only an admin" in answer.text


def test_an_unknown_agent_page_is_404_as_a_page(client, org):
    signed_in(client)
    answer = client.get("/agents/agent_00000000")
    assert answer.status_code == 404 and answer.mimetype == "text/html"


def test_a_session_ends_when_the_password_is_reset(client, org):
    signed_in(client, "viewer@acme.test")
    viewer = next(u for u in client.application.test_client().get(
        "/api/v1/users", headers=bearer(org.admin)).json if u["email"] == "viewer@acme.test")
    client.application.test_client().post(f"/api/v1/users/{viewer['id']}/password", json={},
                                          headers=bearer(org.admin))
    assert client.get("/api/v1/agents").status_code == 401


def test_the_agents_page_lists_the_organizations_agents_only(client, org, other_org):
    org.push(org.register(name="ours"))
    other_org.register(name="theirs")
    signed_in(client)
    page = client.get("/").text
    # The rows are drawn from the same JSON as the API's list, embedded in the page.
    assert '"name":"ours"' in page.replace(" ", "") and "theirs" not in page
    assert 'data-count="connected">1<' in page and 'data-count="running">1<' in page


def test_the_empty_state_shows_this_servers_url(client, org):
    signed_in(client, base_url="http://monitor.lan:8080")
    page = client.get("/", base_url="http://monitor.lan:8080").text
    assert "kubewatch-agent --url http://monitor.lan:8080 --api-key" in page
    assert "Create an API key" in page


def test_the_dashboard_keeps_the_push_shortcut_active(db_engine):
    app = create_app({"TESTING": True, "DATABASE_URL": engines.fresh_url(), "SECRET_KEY": "x"})
    assert isinstance(push_shortcut.installed(app), push_shortcut.PushShortcut)  # inside the other middleware
    assert push_shortcut.work_the_shortcut_would_skip(app) == []


def test_uplot_is_vendored_with_its_license_and_version(client):
    for name in ("uPlot.iife.min.js", "uPlot.min.css", "LICENSE", "VERSION"):
        with client.get(f"/static/vendor/uplot/{name}") as answer:
            assert answer.status_code == 200
            if name == "VERSION":
                assert "uPlot 1.6.32" in answer.text


@pytest.mark.parametrize("email, forms", [("admin@acme.test", True), ("viewer@acme.test", False)])
def test_the_alerts_page_has_its_forms_for_admins_only(client, org, email, forms):
    signed_in(client, email)
    page = client.get("/alerts")
    assert page.status_code == 200
    for form in ('id="rule-form"', 'id="channel-form"', 'id="silence-form"'):
        assert (form in page.text) is forms
    assert 'data-admin="true"' in page.text if forms else 'data-admin="false"' in page.text
    assert '<a href="/alerts"' in client.get("/").text  # in every user's menu


def test_the_agents_page_embeds_the_firing_alerts_of_the_organization_only(app, client, org, other_org):
    from kubewatch.repository import alert_state

    ours, theirs = org.register(name="ours")["agentId"], other_org.register(name="theirs")["agentId"]
    with app.app_context():
        alert_state.apply([{"id": f"alert_{n}", "org_id": o.id, "rule_id": None, "rule_name": "stops",
                            "kind": "container_stopped", "agent_id": agent, "object_type": "container",
                            "object_name": f"db-{n}", "value": None, "threshold": None, "summary": f"db-{n} exited",
                            "started_at": 100, "fired_at": 100, "resolved_at": None, "notified_at": 100}
                           for n, (o, agent) in enumerate(((org, ours), (other_org, theirs)))], [], [], [], 100)
    signed_in(client)
    page = client.get("/").text
    assert '"summary":"db-0 exited"' in page and "db-1 exited" not in page
    assert '"summary":"db-0 exited"' in client.get(f"/agents/{ours}").text
