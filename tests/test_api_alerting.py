"""The alerting API: who may do what, one organization never seeing another's, URLs shown without secrets."""

import time

import pytest

from conftest import bearer

UNTIL = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
CHANNEL = {"name": "ops", "url": "json://user:hunter2@hooks.example.com:8443/s3cr3t?token=abc123"}


def call(client, method, path, token, **kwargs):
    return client.open(path, method=method, headers=bearer(token), **kwargs)


@pytest.fixture
def setup(client, org):
    """An organization with an agent, a channel, a rule and a silence; returns their ids."""
    agent = org.register()["agentId"]
    channel = call(client, "POST", "/api/v1/notification-channels", org.admin, json=CHANNEL).json["id"]
    rule = call(client, "POST", "/api/v1/alert-rules", org.admin, json={
        "name": "stopped", "kind": "container_stopped", "channels": [channel]}).json["id"]
    silence = call(client, "POST", "/api/v1/silences", org.admin, json={"ruleId": rule, "until": UNTIL}).json["id"]
    return {"agent": agent, "channel": channel, "rule": rule, "silence": silence}


def requests_for(ids):
    """Every alerting endpoint with a valid body, as (method, path, json)."""
    return [
        ("GET", "/api/v1/notification-channels", None),
        ("POST", "/api/v1/notification-channels", {"name": "more", "url": "ntfys://ntfy.example.com/alerts"}),
        ("POST", f"/api/v1/notification-channels/{ids['channel']}/test", None),
        ("DELETE", f"/api/v1/notification-channels/{ids['channel']}", None),
        ("GET", "/api/v1/alert-rules", None),
        ("POST", "/api/v1/alert-rules", {"name": "hot", "kind": "cpu_above", "threshold": 90}),
        ("PATCH", f"/api/v1/alert-rules/{ids['rule']}", {"enabled": False}),
        ("GET", "/api/v1/alerts", None),
        ("GET", "/api/v1/silences", None),
        ("POST", "/api/v1/silences", {"until": UNTIL}),
        ("DELETE", f"/api/v1/silences/{ids['silence']}", None),
        ("DELETE", f"/api/v1/alert-rules/{ids['rule']}", None),  # last: a rule's silences go with it
    ]


def test_viewers_read_and_admins_write_every_alerting_endpoint(client, org, setup, monkeypatch):
    from kubewatch.alerting import channels
    monkeypatch.setattr(channels, "send", lambda *args: channels.Sent(True, None))  # hooks.example.com is not reachable
    for method, path, body in requests_for(setup):
        as_viewer = call(client, method, path, org.viewer, json=body)
        assert as_viewer.status_code == (200 if method == "GET" else 403), (method, path, as_viewer.json)
        assert call(client, method, path, None, json=body).status_code == 401
    for method, path, body in requests_for(setup):
        as_admin = call(client, method, path, org.admin, json=body)
        expected = {"GET": 200, "POST": 200 if path.endswith("/test") else 201, "PATCH": 200, "DELETE": 204}[method]
        assert as_admin.status_code == expected, (method, path, as_admin.json)


def test_another_organizations_channels_rules_and_silences_are_404_and_never_listed(client, org, other_org, setup):
    for method, path, body in requests_for(setup):
        if any(setup[name] in path for name in ("channel", "rule", "silence")):
            response = call(client, method, path, other_org.admin, json=body)
            assert response.status_code == 404, (method, path, response.json)
    for path in ("/api/v1/notification-channels", "/api/v1/alert-rules", "/api/v1/alerts", "/api/v1/silences"):
        assert call(client, "GET", path, other_org.viewer).json == []
    # nor can another organization's agent, rule or channel be named in a rule or a silence
    refused = call(client, "POST", "/api/v1/alert-rules", other_org.admin, json={
        "name": "x", "kind": "agent_down", "agentId": setup["agent"], "channels": [setup["channel"]]})
    assert refused.status_code == 400 and set(refused.json["errors"]["json"]) == {"agentId", "channels"}
    refused = call(client, "POST", "/api/v1/silences", other_org.admin, json={"ruleId": setup["rule"], "until": UNTIL})
    assert refused.status_code == 400 and "ruleId" in refused.json["errors"]["json"]
    assert [c["id"] for c in call(client, "GET", "/api/v1/notification-channels", org.viewer).json] == [
        setup["channel"]]  # untouched by the other organization's attempts


@pytest.mark.parametrize("url, shown", [
    ("json://user:hunter2@hooks.example.com:8443/s3cr3t?token=abc123", "json://hooks.example.com:8443"),
    ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321", "tgram://***"),
    ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://***"),
    ("ntfys://ntfy.example.com/my-private-topic", "ntfys://ntfy.example.com"),
    ("ntfy://my-private-topic", "ntfy://***"),
    ("gotifys://gotify.example.com/AbCdEfGhIjKl", "gotifys://gotify.example.com"),
    ("mailtos://alerts:app-password@smtp.example.com?to=ops@example.com", "mailtos://smtp.example.com"),
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general", "slack://***"),
])
def test_a_listed_channel_shows_scheme_and_host_never_its_secrets(client, org, url, shown):
    created = call(client, "POST", "/api/v1/notification-channels", org.admin, json={"name": "c", "url": url})
    assert created.status_code == 201, created.json
    [listed] = call(client, "GET", "/api/v1/notification-channels", org.viewer).json
    assert created.json["url"] == listed["url"] == shown
    text = str(created.json) + str(listed)
    for secret in ("hunter2", "s3cr3t", "abc123", "AAHdqTcv", "JHMHI8qB", "my-private-topic", "AbCdEf",
                   "app-password", "TIiajkdn"):
        assert secret not in text


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "url": "nosuchscheme://host/path"}, "url"),
    ({"name": "x", "url": "not a url"}, "url"),
    ({"name": "", "url": "json://hooks.example.com"}, "name"),
    ({"url": "json://hooks.example.com"}, "name"),
])
def test_an_invalid_channel_is_a_400_that_stores_nothing(client, org, body, field):
    response = call(client, "POST", "/api/v1/notification-channels", org.admin, json=body)
    assert response.status_code == 400 and field in response.json["errors"]["json"]
    assert call(client, "GET", "/api/v1/notification-channels", org.viewer).json == []


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "kind": "cpu_above"}, "threshold"),
    ({"name": "x", "kind": "container_stopped", "threshold": 5}, "threshold"),
    ({"name": "x", "kind": "disk_full", "threshold": 5}, "kind"),
    ({"name": "x", "kind": "agent_down", "forSeconds": -1}, "forSeconds"),
    ({"name": "x", "kind": "agent_down", "repeatSeconds": 5}, "repeatSeconds"),
    ({"name": "x", "kind": "agent_down", "channels": ["chan_nope"]}, "channels"),
    ({"name": "x", "kind": "agent_down", "agentId": "agent_nope"}, "agentId"),
    ({"name": "x", "kind": "memory_above", "threshold": "90"}, "threshold"),
])
def test_an_invalid_rule_is_a_400_that_stores_nothing(client, org, body, field):
    response = call(client, "POST", "/api/v1/alert-rules", org.admin, json=body)
    assert response.status_code == 400 and field in response.json["errors"]["json"], response.json
    assert call(client, "GET", "/api/v1/alert-rules", org.viewer).json == []


def test_a_rule_takes_the_documented_defaults_and_a_patch_changes_only_what_it_names(client, org):
    threshold = call(client, "POST", "/api/v1/alert-rules", org.admin, json={
        "name": "hot", "kind": "cpu_above", "threshold": 90, "match": "postgres*"}).json
    assert (threshold["forSeconds"], threshold["enabled"], threshold["channels"], threshold["agentId"],
            threshold["repeatSeconds"]) == (60, True, [], None, None)
    plain = call(client, "POST", "/api/v1/alert-rules", org.admin, json={"name": "s", "kind": "container_stopped"})
    assert plain.json["forSeconds"] == 0
    changed = call(client, "PATCH", f"/api/v1/alert-rules/{threshold['id']}", org.admin, json={"enabled": False})
    assert changed.status_code == 200
    assert {**threshold, "enabled": False} == changed.json
    refused = call(client, "PATCH", f"/api/v1/alert-rules/{threshold['id']}", org.admin, json={"kind": "agent_down"})
    assert refused.status_code == 400 and "threshold" in refused.json["errors"]["json"]
    moved = call(client, "PATCH", f"/api/v1/alert-rules/{threshold['id']}", org.admin,
                 json={"kind": "agent_down", "threshold": None})
    assert (moved.json["kind"], moved.json["forSeconds"], moved.json["match"]) == ("agent_down", 0, "postgres*")


@pytest.mark.parametrize("query", ["state=open", "state="])
def test_an_unknown_alert_state_is_a_400(client, org, query):
    assert call(client, "GET", f"/api/v1/alerts?{query}", org.viewer).status_code == 400


def test_a_silence_must_end_in_the_future(client, org):
    past = call(client, "POST", "/api/v1/silences", org.admin, json={"until": "2020-01-01T00:00:00Z"})
    assert past.status_code == 400 and "until" in past.json["errors"]["json"]
