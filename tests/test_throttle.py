"""Guessing is slowed down: failed logins and registrations per client and per account."""

import pytest

from conftest import PASSWORD
from kubewatch.api import throttle

LIMIT = 10


def login(client, email, password, client_ip="10.0.0.1"):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": client_ip})


def register(client, key, client_ip="10.0.0.1"):
    return client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"}, headers={"X-API-Key": key},
                       environ_base={"REMOTE_ADDR": client_ip})


@pytest.fixture
def clock(monkeypatch):
    """A monotonic clock the test moves by hand."""
    now = [1000.0]
    monkeypatch.setattr(throttle.time, "monotonic", lambda: now[0])
    return now


def test_a_client_that_keeps_failing_to_log_in_gets_429_with_retry_after(client, org, clock):
    for i in range(LIMIT):
        assert login(client, f"nobody{i}@acme.test", "wrong").status_code == 401
    response = login(client, "admin@acme.test", PASSWORD)  # even the right password waits
    assert response.status_code == 429
    assert response.json["code"] == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 300
    assert login(client, "admin@acme.test", PASSWORD, client_ip="10.0.0.2").status_code == 200


def test_an_account_under_attack_from_many_clients_gets_429(client, org, clock):
    for i in range(LIMIT):
        assert login(client, "admin@acme.test", "wrong", client_ip=f"10.0.1.{i}").status_code == 401
    assert login(client, "admin@acme.test", PASSWORD, client_ip="10.0.2.1").status_code == 429
    assert login(client, "viewer@acme.test", PASSWORD, client_ip="10.0.2.1").status_code == 200


def test_the_wait_ends_when_the_window_passes(client, org, clock):
    for _ in range(LIMIT):
        login(client, "admin@acme.test", "wrong")
    retry_after = int(login(client, "admin@acme.test", PASSWORD).headers["Retry-After"])
    clock[0] += retry_after
    assert login(client, "admin@acme.test", PASSWORD).status_code == 200


def test_a_successful_login_clears_the_accounts_failures(client, org, clock):
    for i in range(LIMIT - 1):
        login(client, "admin@acme.test", "wrong", client_ip=f"10.0.3.{i}")
    assert login(client, "admin@acme.test", PASSWORD, client_ip="10.0.4.1").status_code == 200
    for i in range(LIMIT - 1):
        login(client, "admin@acme.test", "wrong", client_ip=f"10.0.5.{i}")
    assert login(client, "admin@acme.test", PASSWORD, client_ip="10.0.6.1").status_code == 200


def test_registrations_with_wrong_keys_are_slowed_down_per_client(client, org, clock):
    for i in range(LIMIT):
        assert register(client, f"kw_live_wrong{i}").status_code == 401
    response = register(client, "kw_live_wrong-again")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    # The agent shows this message: a wrong key must not hide behind "too many attempts".
    assert response.json["message"] == ("Too many registrations with a missing, unknown or revoked API key from "
                                        "this address: check the key, then wait before trying again.")
    assert register(client, "kw_live_wrong", client_ip="10.9.9.9").status_code == 401  # other clients are not slowed


def test_a_valid_key_registers_even_from_a_client_that_failed_often(client, org, clock):
    # Agents behind one proxy share an address: a stale key on one must not stop the others.
    for i in range(LIMIT + 3):
        register(client, f"kw_live_wrong{i}")
    assert register(client, org.api_key).status_code == 200


def test_the_limit_and_window_come_from_the_settings(app, client, org, clock):
    app.config.update(AUTH_FAILURE_LIMIT=2, AUTH_FAILURE_WINDOW=30)
    login(client, "admin@acme.test", "wrong")
    login(client, "admin@acme.test", "wrong")
    response = login(client, "admin@acme.test", PASSWORD)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) <= 31


def test_the_failure_log_forgets_the_stalest_keys_when_full(monkeypatch):
    monkeypatch.setattr(throttle, "MAX_TRACKED", 100)
    log = throttle.FailureLog()
    for i in range(150):
        log.fail([("login", "client", f"10.1.{i}")], limit=3, now=float(i))
    assert len(log._failures) <= 100
    assert ("login", "client", "10.1.149") in log._failures
