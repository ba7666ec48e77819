"""Signing and verifying agent and user tokens."""

import functools
import secrets
import time
from types import MappingProxyType

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

AGENT_PREFIX = "kwa_"
USER_PREFIX = "kwu_"
_SALTS = {AGENT_PREFIX: "kubewatch.agent-token", USER_PREFIX: "kubewatch.user-token"}


class InvalidToken(Exception):
    """A token is missing, tampered with, of the wrong kind, or expired."""


def _serializer(secret, prefix):
    """Return the serializer of one kind of token: its own salt, under the server's secret."""
    return URLSafeTimedSerializer(secret, salt=_SALTS[prefix])


def _sign(prefix, claims):
    return prefix + _serializer(current_app.config["SECRET_KEY"], prefix).dumps(claims)


def _verify(prefix, token, max_age):
    if not token or not token.startswith(prefix):
        raise InvalidToken("not a token of this kind")
    claims, signed_at = _signed(current_app.config["SECRET_KEY"], prefix, token)
    age = int(time.time()) - signed_at  # as itsdangerous counts it
    if not 0 <= age <= max_age:
        raise InvalidToken("token expired")
    return claims


# An agent sends the same token with every push for the token's whole life: checking its
# signature each time cost a fifth of a steady push. Only good signatures are remembered, by
# secret and token, and the age is checked on every use.
@functools.lru_cache(maxsize=10_000)
def _signed(secret, prefix, token):
    """Return (claims, signed at) of a token whose signature is good; raise InvalidToken otherwise."""
    try:
        claims, signed_at = _serializer(secret, prefix).loads(token[len(prefix):], return_timestamp=True)
    except BadSignature:
        raise InvalidToken("token signature is not valid") from None
    return MappingProxyType(claims), int(signed_at.timestamp())


def sign_agent_token(agent_id, org_id, key_id):
    """Return a token that lets one agent of one organization push, naming the API key it registered with.

    Each registration's token carries an id of its own ("r"), so that two installations pushing
    as one agent can be told apart.
    """
    return _sign(AGENT_PREFIX, {"a": agent_id, "o": org_id, "k": key_id, "r": secrets.token_hex(4)})


def verify_agent_token(token):
    """Return (agent_id, org_id, key_id, registration id or None) of a valid agent token; raise InvalidToken otherwise.

    A token signed before tokens named their key (schema 7 and earlier) is not valid: revoking
    its key could not stop it, so its agent registers again, as on any 401.
    """
    claims = _verify(AGENT_PREFIX, token, current_app.config["AGENT_TOKEN_TTL"])
    if "k" not in claims:
        raise InvalidToken("token names no API key")
    return claims["a"], claims["o"], claims["k"], claims.get("r")


def sign_user_token(user_id):
    """Return a token that identifies a signed-in user."""
    return _sign(USER_PREFIX, {"u": user_id})


def verify_user_token(token):
    """Return the user id of a valid user token; raise InvalidToken otherwise."""
    return _verify(USER_PREFIX, token, current_app.config["USER_TOKEN_TTL"])["u"]
