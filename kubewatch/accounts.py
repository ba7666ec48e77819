"""Creating users and API keys: shared by the API, the CLI and the first start."""

import logging
import time

from sqlalchemy.exc import SQLAlchemyError

from kubewatch import credentials
from kubewatch.repository import account_rows

log = logging.getLogger("kubewatch.keys")

MIN_PASSWORD_LENGTH = 8
# A key's last use is kept to this many seconds: a Prometheus scraping every 15 s writes once a minute, not four times.
KEY_USE_RESOLUTION = 60


def add_user(email, password, org_name, role):
    """Create a user, and its organization when new; return the organization's id.

    Raises ValueError for a password shorter than MIN_PASSWORD_LENGTH, and
    repository.account_rows.EmailTaken when the email is in use (nothing is created then).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
    return account_rows.create_user(credentials.new_id("org"), org_name, credentials.new_id("usr"),
                                credentials.normalize_email(email), credentials.hash_password(password), role,
                                int(time.time()))


def add_api_key(org_id, name, scope="ingest"):
    """Make and store a new key of org_id and scope ("ingest" or "read"); return its listing with the whole key."""
    key, prefix, key_hash = credentials.new_api_key(scope)
    created = account_rows.create_api_key(credentials.new_id("key"), org_id, name, prefix, key_hash,
                                          int(time.time()), scope)
    return dict(created, key=key)


def note_key_use(key, now=None):
    """Record that key (a row of account_rows.api_key_by_hash) was just used, at most once a KEY_USE_RESOLUTION.

    Returns True when it was written. A failed write is logged and changes nothing else: the
    request the key made goes on.
    """
    now = int(time.time()) if now is None else now
    since = now - KEY_USE_RESOLUTION
    if key["last_used_at"] is not None and key["last_used_at"] > since:
        return False  # noted within the minute, as the row just read says: no write
    try:
        return account_rows.note_api_key_used(key["id"], now, since + 1)
    except SQLAlchemyError as error:
        log.warning("last use of API key %s not recorded: %s", key["id"], error.__class__.__name__)
        return False
