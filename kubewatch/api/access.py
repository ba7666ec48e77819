"""Who is calling: API keys, agent tokens and user tokens, checked for each request."""

from functools import wraps

from flask import request
from flask_smorest import abort

from kubewatch import accounts, credentials, hashing, revocations, sessions, tokens
from kubewatch.api import throttle
from kubewatch.repository import account_rows, users

REGISTER_AGAIN = "Agent token is missing, invalid or expired: register again at POST /api/v1/agents/register."
SIGN_IN = "A valid user token is required: sign in at POST /api/v1/auth/login."
READ_ONLY = "A read-only API key can read, but cannot register agents or change anything."
READ_ONLY_METHODS = ("GET", "HEAD")
SIGN_INS_BUSY = "Too many passwords are being checked at once: retry in a moment."
# The WWW-Authenticate of each kind of 401: a token in Authorization, or a key in X-API-Key.
CHALLENGES = {"bearer": "Bearer", "api key": 'ApiKey realm="kubewatch", header="X-API-Key"'}
_BEARER_CHALLENGE = {"WWW-Authenticate": CHALLENGES["bearer"]}


def bearer_token(authorization):
    """Return the token of an Authorization header's value when its scheme is Bearer, else None."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _bearer_token():
    """Return the request's Bearer token, or None."""
    return bearer_token(request.headers.get("Authorization", ""))


def agent_of(authorization):
    """Return (agent_id, org_id, registration id or None) of the agent token in an Authorization header's value,
    or None when it is not valid or the API key its agent registered with is revoked."""
    try:
        agent_id, org_id, key_id, registration = tokens.verify_agent_token(bearer_token(authorization))
    except tokens.InvalidToken:
        return None
    return None if revocations.is_revoked(key_id) else (agent_id, org_id, registration)


def api_key_of_request():
    """Return (org_id, key_id) of the request's X-API-Key; abort 401 when it is missing or revoked, 403 when read-only."""
    key = request.headers.get("X-API-Key", "")
    found = account_rows.api_key_by_hash(credentials.hash_api_key(key)) if key else None
    if found is None:
        # Only failures are slowed down: agents behind one address (a proxy, NAT) keep registering
        # with a valid key while a stale one fails, and a 256-bit key is not guessed anyway.
        throttle.guard("register")
        throttle.failed("register")
        abort(401, message="A valid X-API-Key header is required: this key is missing, unknown or revoked.",
              headers={"WWW-Authenticate": CHALLENGES["api key"]})
    if found["scope"] != "ingest":
        abort(403, message=READ_ONLY)
    accounts.note_key_use(found)
    return found["org_id"], found["id"]


def agent_pushing(agent_id):
    """Return the org id of the agent token's agent; abort 401 when invalid, 403 when for another agent."""
    pushing = agent_of(request.headers.get("Authorization", ""))
    if pushing is None:
        abort(401, message=REGISTER_AGAIN, headers=_BEARER_CHALLENGE)
    if pushing[0] != agent_id:
        abort(403, message="This agent token belongs to another agent.")
    return pushing[1]


def read_key_reader(token):
    """Return a reader {id, org_id, email, role: "reader", last_used_at} for a valid read-only key, else None."""
    if not token or not token.startswith(credentials.READ_KEY_PREFIX):
        return None
    found = account_rows.api_key_by_hash(credentials.hash_api_key(token))
    if found is None or found["scope"] != "read":
        return None
    return {"id": found["id"], "org_id": found["org_id"], "email": f"read key {found['prefix']}...", "role": "reader",
            "last_used_at": found["last_used_at"]}


def session_user():
    """Return the user of the request's session cookie, or None when it has none or the password changed since."""
    signed = sessions.session_user_id()
    user = signed and users.user_with_password(signed[0])
    if not user or sessions.password_mark(user.pop("password_hash")) != signed[1]:
        return None
    return user


def signed_in_user(role=None):
    """Return the user of the request's user token or session cookie, or the reader of a read-only key on a GET.

    Aborts 401 without any, 403 without the role (a reader has none) or for a reader's change.
    A cookie-authenticated request that changes state must carry the CSRF token: 400 without it.
    """
    if sessions.uses_session():
        user = session_user()
        if user is not None:
            sessions.protect()
    else:
        token = _bearer_token()
        reader = read_key_reader(token)
        if reader is not None:
            if request.method not in READ_ONLY_METHODS or role is not None:
                abort(403, message=READ_ONLY)
            accounts.note_key_use(reader)  # a read it may make: a refused one is no use of it
            return reader
        try:
            user = account_rows.user_by_id(tokens.verify_user_token(token))
        except tokens.InvalidToken:
            user = None
    if user is None:
        abort(401, message=SIGN_IN, headers=_BEARER_CHALLENGE)
    if role is not None and user["role"] != role:
        abort(403, message=f"Only an {role} may do this.")
    return user


def user_signing_in(email, password):
    """Return the user (with password_hash) whose email and password these are, or None, counting failures.

    Aborts 429 while this client or account failed too often lately, 503 when every place in the
    hashing pool is taken: the API and the sign-in page share this.
    """
    try:
        with hashing.place():  # first: past the pool's places, a sign-in costs no more than its request
            return _signing_in(credentials.normalize_email(email), password)
    except hashing.Busy:
        abort(503, message=SIGN_INS_BUSY, headers={"Retry-After": "1"})


def _signing_in(email, password):
    throttle.guard("login", email)
    user = account_rows.user_by_email(email)
    if not hashing.password_matches(user and user["password_hash"], password):
        throttle.failed("login", email)
        return None
    throttle.succeeded("login", email)
    return user


def hashed_password(password):
    """Return the scrypt hash of a new password, made on the hashing pool; abort 503 when it is full."""
    try:
        return hashing.hash_password(password)
    except hashing.Busy:
        abort(503, message=SIGN_INS_BUSY, headers={"Retry-After": "1"})


# Decorators, placed above @blp.arguments so that a caller is identified before its body is read.

def needs_api_key(view):
    """Call view with api_key=(organization id, key id) of the request's API key."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, api_key=api_key_of_request(), **kwargs)
    return wrapper


def needs_agent_token(view):
    """Call view only when the request carries the token of the agent named in the path."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        agent_pushing(kwargs["agent_id"])
        return view(*args, **kwargs)
    return wrapper


def needs_user(role=None):
    """Call view with user=the signed-in user, who must have role when one is given."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, user=signed_in_user(role), **kwargs)
        return wrapper
    return decorate
