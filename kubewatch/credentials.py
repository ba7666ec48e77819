"""API keys and passwords: making them, hashing them, checking them in constant time."""

import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

API_KEY_PREFIX = "kw_live_"
# A read-only key's prefix tells it apart at a glance: it scrapes and reads, and changes nothing.
READ_KEY_PREFIX = "kw_read_"
KEY_PREFIXES = {"ingest": API_KEY_PREFIX, "read": READ_KEY_PREFIX}
# Shown in listings so people can tell their keys apart; too short to guess the rest.
SHOWN_PREFIX_LENGTH = len(API_KEY_PREFIX) + 4
# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def new_id(kind):
    """Return a fresh random id such as `org_3f9a0c1b2d4e5f60`."""
    return f"{kind}_{secrets.token_hex(8)}"


def new_api_key(scope="ingest"):
    """Return (key, shown_prefix, key_hash) for a new key of scope "ingest" or "read"; only the hash is stored.

    The key is its scope's prefix and 43 URL-safe characters (256 random bits).
    """
    key = KEY_PREFIXES[scope] + secrets.token_urlsafe(32)
    return key, key[:SHOWN_PREFIX_LENGTH], hash_api_key(key)


def hash_api_key(key):
    """Return the SHA-256 hex digest under which a key is stored and looked up.

    Keys are found by this digest, so lookup timing can tell nothing about the key itself.
    """
    return hashlib.sha256(key.encode()).hexdigest()


def hash_password(password):
    """Return a scrypt hash of password."""
    return generate_password_hash(password, method="scrypt")


def password_matches(password_hash, password):
    """Tell whether password matches; pass None for an unknown user to spend the same time."""
    return check_password_hash(password_hash or _DUMMY_HASH, password) and password_hash is not None


def new_password():
    """Return a generated password for a first-run admin."""
    return secrets.token_urlsafe(15)


def normalize_email(email):
    """Return the form in which emails are stored and compared."""
    return email.strip().lower()
