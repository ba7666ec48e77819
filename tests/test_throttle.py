"""Guessing is slowed per account and address, an account under attack slows rather than blocks, and every
server process on one database counts the same failures (OWASP's guidance on account lockout)."""

import pytest

import engines
from conftest import PASSWORD, TEST_CONFIG, Org
from kubewatch import create_app
from kubewatch.api import throttle
from kubewatch.db import db

LIMIT, WINDOW = 10, 300


def login(client, email, password, client_ip="10.0.0.1"):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": client_ip})


def register(client, key, client_ip="10.0.0.1"):
    return client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"}, headers={"X-API-Key": key},
                       environ_base={"REMOTE_ADDR": client_ip})


@pytest.fixture
def clock(monkeypatch):
    """Epoch seconds the test moves by hand."""
    now = [1_000_000]
    monkeypatch.setattr(throttle, "now", lambda: now[0])
    return now


def test_ten_wrong_passwords_from_one_address_slow_that_address_for_that_account(client, org, clock):
    for _ in range(LIMIT):
        assert login(client, "admin@acme.test", "wrong").status_code == 401
    refused = login(client, "admin@acme.test", PASSWORD)  # from the guessing address, even the right one waits
    assert refused.status_code == 429 and refused.json["code"] == 429
    assert int(refused.headers["Retry-After"]) == WINDOW
    assert login(client, "viewer@acme.test", PASSWORD).status_code == 200  # another account, same address
    assert login(client, "admin@acme.test", PASSWORD, client_ip="10.0.0.2").status_code == 200


def test_an_attacker_at_one_address_never_keeps_the_admin_out(client, org, clock):
    signed_in = 0
    for _ in range(20):  # one burst per window, as in the review: it kept the admin out 14 times in 20
        for _ in range(LIMIT + 5):
            login(client, "admin@acme.test", "wrong", client_ip="203.0.113.7")
        signed_in += login(client, "admin@acme.test", PASSWORD, client_ip="198.51.100.1").status_code == 200
        clock[0] += WINDOW
    assert signed_in == 20


def test_refused_attempts_are_not_checked_nor_counted(client, org, clock, monkeypatch):
    for _ in range(LIMIT):
        login(client, "admin@acme.test", "wrong")
    checked = []
    monkeypatch.setattr("kubewatch.credentials.password_matches", lambda *a: checked.append(a) or False)
    for _ in range(50):
        assert login(client, "admin@acme.test", "wrong").status_code == 429
    assert checked == []


def test_the_wait_ends_when_the_window_passes(client, org, clock):
    for _ in range(LIMIT):
        login(client, "admin@acme.test", "wrong")
    clock[0] += int(login(client, "admin@acme.test", PASSWORD).headers["Retry-After"])
    assert login(client, "admin@acme.test", PASSWORD).status_code == 200


def test_an_account_guessed_from_many_addresses_slows_rather_than_blocks(app, client, org, clock):
    app.config.update(AUTH_ACCOUNT_FAILURE_LIMIT=30, AUTH_ACCOUNT_SLOW_SECONDS=2)
    for i in range(30):
        assert login(client, "admin@acme.test", "wrong", client_ip=f"2001:db8:{i:x}::1").status_code == 401
    # Slowed: one attempt every 2 s for the account, from anywhere; the others wait.
    assert login(client, "admin@acme.test", PASSWORD, client_ip="2001:db8:ffff::1").status_code == 200
    refused = login(client, "admin@acme.test", PASSWORD, client_ip="2001:db8:fffe::1")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
    clock[0] += 2
    assert login(client, "admin@acme.test", "wrong", client_ip="2001:db8:fffd::1").status_code == 401
    assert login(client, "admin@acme.test", PASSWORD, client_ip="2001:db8:fffe::1").status_code == 429
    clock[0] += 2
    assert login(client, "admin@acme.test", PASSWORD, client_ip="2001:db8:fffe::1").status_code == 200
    assert login(client, "viewer@acme.test", PASSWORD, client_ip="2001:db8:fffe::1").status_code == 200  # others not slowed
    clock[0] += WINDOW
    for _ in range(3):  # the window over, the account is not slowed any more
        assert login(client, "admin@acme.test", PASSWORD, client_ip="2001:db8:fffe::1").status_code == 200


def test_a_successful_login_forgets_that_addresss_failures(client, org, clock):
    for _ in range(LIMIT - 1):
        login(client, "admin@acme.test", "wrong")
    assert login(client, "admin@acme.test", PASSWORD).status_code == 200
    for _ in range(LIMIT - 1):
        login(client, "admin@acme.test", "wrong")
    assert login(client, "admin@acme.test", PASSWORD).status_code == 200


def test_two_servers_on_one_database_count_the_same_failures(db_engine, tmp_path, clock):
    apps = [create_app(dict(TEST_CONFIG, DATABASE_URL=engines.file_url(tmp_path / 'shared.db'))) for _ in range(2)]
    Org(apps[0], apps[0].test_client(), "acme")
    try:
        first, second = (app.test_client() for app in apps)
        for i in range(LIMIT):
            assert login(first if i % 2 else second, "admin@acme.test", "wrong").status_code == 401
        assert login(first, "admin@acme.test", PASSWORD).status_code == 429
        assert login(second, "admin@acme.test", PASSWORD).status_code == 429  # not twenty guesses: ten
    finally:
        for app in apps:
            with app.app_context():
                db.engine.dispose()


def test_registrations_with_wrong_keys_are_slowed_down_per_address(client, org, clock):
    for i in range(LIMIT):
        assert register(client, f"kw_live_wrong{i}").status_code == 401
    response = register(client, "kw_live_wrong-again")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    # The agent shows this message: a wrong key must not hide behind "too many attempts".
    assert response.json["message"] == ("Too many registrations with a missing, unknown or revoked API key from "
                                        "this address: check the key, then wait before trying again.")
    assert register(client, "kw_live_wrong", client_ip="10.9.9.9").status_code == 401  # other addresses are not


def test_a_valid_key_registers_even_from_an_address_that_failed_often(client, org, clock):
    # Agents behind one proxy share an address: a stale key on one must not stop the others.
    for i in range(LIMIT + 3):
        register(client, f"kw_live_wrong{i}")
    assert register(client, org.api_key).status_code == 200


def test_the_limit_and_window_come_from_the_settings(app, client, org, clock):
    app.config.update(AUTH_FAILURE_LIMIT=2, AUTH_FAILURE_WINDOW=30)
    login(client, "admin@acme.test", "wrong")
    login(client, "admin@acme.test", "wrong")
    response = login(client, "admin@acme.test", PASSWORD)
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"


def test_closed_windows_are_dropped_and_no_email_or_address_is_stored(app, client, org, clock, query):
    for i in range(40):
        login(client, f"user{i}@acme.test", "wrong", client_ip=f"10.1.0.{i}")
    assert query("SELECT COUNT(*) FROM auth_failures")[0][0] == 80
    assert not [row for row in query("SELECT key FROM auth_failures") if "@" in row[0] or "10.1" in row[0]]
    clock[0] += WINDOW
    login(client, "late@acme.test", "wrong")
    assert query("SELECT COUNT(*) FROM auth_failures")[0][0] == 2


def test_addresses_of_one_ipv6_64_count_as_one_address(client, org, clock):
    for i in range(LIMIT):  # a host given a /64 changes its address at will
        assert login(client, "admin@acme.test", "wrong", client_ip=f"2001:db8:1:2::{i + 1:x}").status_code == 401
    assert login(client, "admin@acme.test", PASSWORD, client_ip="2001:db8:1:2:ffff::9").status_code == 429
    assert login(client, "admin@acme.test", PASSWORD, client_ip="2001:db8:1:3::1").status_code == 200


@pytest.mark.parametrize("remote, counted", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("", ""),
])
def test_the_address_failures_are_counted_for(remote, counted):
    assert throttle.address_of(remote) == counted
