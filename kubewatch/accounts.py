"""Creating users and API keys: shared by the API, the CLI and the first start."""

import time

from kubewatch import credentials
from kubewatch.repository import account_rows


MIN_PASSWORD_LENGTH = 8


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
