"""Agent and user tokens: signed, bound, expiring, never interchangeable."""

import time

import pytest
from itsdangerous import TimestampSigner

from kubewatch import tokens


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def test_an_agent_token_carries_its_agent_and_org(ctx):
    token = tokens.sign_agent_token("agent_1234abcd", "org_1", "key_1")
    assert token.startswith("kwa_")
    assert tokens.verify_agent_token(token)[:3] == ("agent_1234abcd", "org_1", "key_1")


def test_a_user_token_carries_its_user(ctx):
    token = tokens.sign_user_token("usr_1")
    assert token.startswith("kwu_")
    assert tokens.verify_user_token(token) == "usr_1"


@pytest.mark.parametrize("make, verify", [
    (lambda: tokens.sign_user_token("usr_1"), tokens.verify_agent_token),
    (lambda: tokens.sign_agent_token("agent_1", "org_1", "key_1"), tokens.verify_user_token),
    (lambda: "kwa_" + tokens.sign_user_token("usr_1")[4:], tokens.verify_agent_token),
    (lambda: tokens.sign_agent_token("agent_1", "org_1", "key_1")[:-2] + "xx", tokens.verify_agent_token),
    (lambda: "", tokens.verify_agent_token),
    (lambda: None, tokens.verify_user_token),
])
def test_wrong_kind_tampered_or_missing_tokens_are_refused(ctx, make, verify):
    with pytest.raises(tokens.InvalidToken):
        verify(make())


def test_a_token_signed_with_another_secret_is_refused(app, ctx):
    token = tokens.sign_agent_token("agent_1", "org_1", "key_1")
    app.config["SECRET_KEY"] = "another secret"
    with pytest.raises(tokens.InvalidToken, match="signature"):
        tokens.verify_agent_token(token)


@pytest.mark.parametrize("sign, verify, ttl", [
    (lambda: tokens.sign_agent_token("agent_1", "org_1", "key_1"), tokens.verify_agent_token, "AGENT_TOKEN_TTL"),
    (lambda: tokens.sign_user_token("usr_1"), tokens.verify_user_token, "USER_TOKEN_TTL"),
])
def test_tokens_expire_after_their_configured_lifetime(app, ctx, monkeypatch, sign, verify, ttl):
    app.config[ttl] = 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 61)
    token = sign()
    monkeypatch.undo()
    with pytest.raises(tokens.InvalidToken, match="expired"):
        verify(token)


def test_a_remembered_token_still_expires_and_a_refused_one_is_not_remembered(app, ctx, monkeypatch):
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 61)
    token = tokens.sign_agent_token("agent_1", "org_1", "key_1")
    monkeypatch.undo()
    assert tokens.verify_agent_token(token)[:3] == ("agent_1", "org_1", "key_1")  # good for the default lifetime
    app.config["AGENT_TOKEN_TTL"] = 60
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.verify_agent_token(token)
    tampered = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    for _ in range(2):
        with pytest.raises(tokens.InvalidToken, match="signature"):
            tokens.verify_agent_token(tampered)
