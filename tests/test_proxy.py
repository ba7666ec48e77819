"""Behind a reverse proxy: the real client for the throttle, the public prefix, and a forged header ignored."""

import json
import re
import time

import pytest
import requests
from werkzeug.test import Client
from werkzeug.wrappers import Response

from conftest import PASSWORD, Org, fresh_config, bearer, sample_push
from kubewatch import create_app, push_shortcut
from kubewatch.api import throttle
from kubewatch.config import ConfigError, check, DEFAULTS
from live_server import LiveServer

PROXY = "10.9.9.9"  # every request reaches the server from the proxy's address


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000]
    monkeypatch.setattr(throttle, "now", lambda: now[0])
    return now


def proxied(hops):
    app = create_app(fresh_config(TRUSTED_PROXY_HOPS=hops))
    return app, Org(app, app.test_client(), "acme")


def login_as(client, email, password, forwarded_for):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password},
                       headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": PROXY})


def test_behind_one_trusted_proxy_one_guessing_client_does_not_lock_out_the_others(db_engine, clock):
    app, org = proxied(1)
    client = app.test_client()
    for attempt in range(10):
        assert login_as(client, "admin@acme.test", "wrong", "203.0.113.7").status_code == 401
    assert login_as(client, "admin@acme.test", PASSWORD, "203.0.113.7").status_code == 429
    assert login_as(client, "admin@acme.test", PASSWORD, "198.51.100.2").status_code == 200


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_dodge_the_throttle(db_engine, clock):
    app, org = proxied(0)
    client = app.test_client()
    for attempt in range(10):
        assert login_as(client, "admin@acme.test", "wrong", f"192.0.2.{attempt}").status_code == 401
    assert login_as(client, "admin@acme.test", PASSWORD, "192.0.2.200").status_code == 429


def test_with_one_trusted_proxy_only_the_address_it_adds_counts(db_engine, clock):
    # The client forges a first X-Forwarded-For entry; the proxy appends the address it saw.
    app, org = proxied(1)
    client = app.test_client()
    for attempt in range(10):
        forged = f"192.0.2.{attempt}, 203.0.113.7"
        assert login_as(client, "admin@acme.test", "wrong", forged).status_code == 401
    assert login_as(client, "admin@acme.test", PASSWORD, "192.0.2.99, 203.0.113.7").status_code == 429


def test_two_trusted_proxies_take_the_address_the_outer_one_saw(db_engine, clock):
    app, org = proxied(2)
    client = app.test_client()
    for attempt in range(10):
        chain = f"203.0.113.7, 10.0.0.{attempt}"  # the outer proxy saw the client, the inner one the outer
        assert login_as(client, "admin@acme.test", "wrong", chain).status_code == 401
    assert login_as(client, "admin@acme.test", PASSWORD, "203.0.113.7, 10.0.0.50").status_code == 429
    assert login_as(client, "admin@acme.test", PASSWORD, "198.51.100.2, 10.0.0.1").status_code == 200


def _shortcut(app):
    """Return the push shortcut inside the proxy middleware, counting what it hands to Flask."""
    layer = push_shortcut.installed(app)
    handed = []
    flask_wsgi_app = layer.flask_wsgi_app

    def counted(environ, start_response):
        handed.append(environ["PATH_INFO"])
        return flask_wsgi_app(environ, start_response)
    layer.flask_wsgi_app = counted
    return handed


@pytest.mark.parametrize("path_prefix", ["", "/kubewatch"], ids=["proxy strips the prefix", "proxy passes it on"])
def test_under_a_prefix_pushes_take_the_shortcut_and_reads_answer(db_engine, path_prefix):
    app, org = proxied(1)
    agent = org.register()
    handed = _shortcut(app)
    client = Client(app.wsgi_app, Response)
    headers = {**bearer(agent["token"]), "X-Forwarded-Prefix": "/kubewatch", "X-Forwarded-For": "203.0.113.7",
               "X-Forwarded-Proto": "https", "X-Forwarded-Host": "monitor.example.org"}
    pushed = client.post(f"{path_prefix}/api/v1/agents/{agent['agentId']}/push", data=json.dumps(sample_push()),
                         content_type="application/json", headers=headers)
    assert (pushed.status_code, pushed.get_json()) == (200, {"ok": True})
    assert handed == []  # stored by the shortcut, Flask never saw it
    listed = client.get(f"{path_prefix}/api/v1/agents/{agent['agentId']}/containers",
                        headers={**headers, **bearer(org.viewer)})
    assert listed.status_code == 200
    assert [c["name"] for c in listed.get_json()] == ["nginx-prod"]


def test_under_a_prefix_urls_flask_builds_carry_the_public_scheme_host_and_prefix(db_engine):
    app, org = proxied(1)
    seen = {}

    @app.get("/whoami")
    def whoami():
        from flask import request, url_for
        seen.update(url=url_for("whoami", _external=True), remote=request.remote_addr)
        return {}
    client = Client(app.wsgi_app, Response)
    client.get("/kubewatch/whoami", headers={"X-Forwarded-Prefix": "/kubewatch", "X-Forwarded-For": "203.0.113.7",
                                             "X-Forwarded-Proto": "https", "X-Forwarded-Host": "monitor.example.org"})
    assert seen == {"url": "https://monitor.example.org/kubewatch/whoami", "remote": "203.0.113.7"}


def test_under_a_prefix_the_dashboard_links_redirects_and_calls_the_api_under_it(db_engine):
    app, org = proxied(1)
    client = Client(app.wsgi_app, Response)
    proxy = {"X-Forwarded-Prefix": "/kubewatch", "X-Forwarded-Host": "monitor.example.org",
             "X-Forwarded-For": "203.0.113.7"}
    sent = client.get("/kubewatch/keys", headers=proxy)
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith("/kubewatch/login?next=/kubewatch/keys")
    page = client.get("/kubewatch/login", headers=proxy).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = client.post("/kubewatch/login", headers=proxy, data={
        "email": "admin@acme.test", "password": PASSWORD, "next": "/kubewatch/keys", "csrf_token": token})
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/kubewatch/keys")
    keys = client.get("/kubewatch/keys", headers=proxy).get_data(as_text=True)
    assert '<meta name="root" content="/kubewatch">' in keys
    assert 'src="/kubewatch/static/keys.js"' in keys
    agents = client.get("/kubewatch/", headers=proxy).get_data(as_text=True)
    assert "http://monitor.example.org/kubewatch" in agents  # the agent command's server URL


@pytest.mark.parametrize("settings", [{"TRUSTED_PROXY_HOPS": -1}, {"EXTERNAL_URL": "monitor.example.org"},
                                      {"EXTERNAL_URL": "ftp://monitor.example.org/"}])
def test_a_negative_hop_count_or_an_external_url_that_is_not_http_is_a_config_error(settings):
    with pytest.raises(ConfigError):
        check({**DEFAULTS, **settings})


def test_the_real_server_behind_a_prefixing_proxy(db_engine, tmp_path):
    """Over HTTP: the banner shows the public URL; pushes and logins go through /kubewatch/ with the real client."""
    server = LiveServer(tmp_path, TRUSTED_PROXY_HOPS=1, EXTERNAL_URL="https://monitor.example.org/kubewatch/",
                        ADMIN_EMAIL="ops@example.com", ADMIN_PASSWORD="a long admin password").start()
    try:
        assert "kubewatch-agent --url https://monitor.example.org/kubewatch\n" in server.output()
        base = server.url + "/kubewatch"
        proxy = {"X-Forwarded-Prefix": "/kubewatch", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "monitor.example.org"}
        agent = requests.post(base + "/api/v1/agents/register", json={"name": "web", "hostname": "web-1"},
                              headers={**proxy, "X-API-Key": server.first_run_key()}).json()
        now = int(time.time())
        body = sample_push(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))
        pushed = requests.post(f"{base}/api/v1/agents/{agent['agentId']}/push", json=body,
                               headers={**proxy, **bearer(agent["token"])})
        assert (pushed.status_code, pushed.json()) == (200, {"ok": True})
        for attempt in range(10):
            wrong = requests.post(base + "/api/v1/auth/login", json={"email": "ops@example.com", "password": "no"},
                                  headers={**proxy, "X-Forwarded-For": "203.0.113.7"})
            assert wrong.status_code == 401
        right = {"email": "ops@example.com", "password": "a long admin password"}
        assert requests.post(base + "/api/v1/auth/login", json=right,
                             headers={**proxy, "X-Forwarded-For": "203.0.113.7"}).status_code == 429
        signed_in = requests.post(base + "/api/v1/auth/login", json=right,
                                  headers={**proxy, "X-Forwarded-For": "198.51.100.2"})
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["token"]
        [listed] = requests.get(base + "/api/v1/agents", headers={**proxy, **bearer(token)}).json()
        assert (listed["status"], listed["containerCount"]) == ("connected", 1)
        assert "login failed for ops@example.com from 203.0.113.7" in server.output()
    finally:
        server.stop()


@pytest.mark.parametrize("hops, secure", [(1, True), (0, False)], ids=["trusted proxy", "no trusted proxy"])
def test_the_session_cookie_is_secure_when_a_trusted_proxy_says_the_request_came_over_https(db_engine, hops, secure):
    app, org = proxied(hops)
    client = Client(app.wsgi_app, Response)
    # The proxy ends TLS and speaks plain HTTP to the server: only its headers say HTTPS.
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "monitor.example.org", "X-Forwarded-For": "203.0.113.7",
             "Referer": "https://monitor.example.org/login"}  # Flask-WTF checks it over HTTPS, as a browser sends it
    page = client.get("/login", headers=proxy, environ_base={"REMOTE_ADDR": PROXY}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = client.post("/login", headers=proxy, environ_base={"REMOTE_ADDR": PROXY},
                         data={"email": "admin@acme.test", "password": PASSWORD, "next": "/", "csrf_token": token})
    assert signed.status_code == 302, signed.get_data(as_text=True)
    [cookie] = [value for name, value in signed.headers.items() if name == "Set-Cookie"
                and value.startswith("kubewatch_session=")]
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert ("secure" in attributes) is secure
    assert "httponly" in attributes and "samesite=lax" in attributes
