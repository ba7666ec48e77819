"""Creating users and API keys: shared by the API, the CLI and the first start."""

import time

from kubewatch import credentials
from kubewatch.repository import accounts


def add_user(email, password, org_name, role):
    """Create a user, and its organization when new; return the organization's id.

    Raises repository.accounts.EmailTaken when the email is in use.
    """
    now = int(time.time())
    org_id = accounts.ensure_org(credentials.new_id("org"), org_name, now)
    accounts.create_user(credentials.new_id("usr"), org_id, credentials.normalize_email(email),
                         credentials.hash_password(password), role, now)
    return org_id


def add_api_key(org_id, name):
    """Make and store a new key of org_id; return its listing with the whole key."""
    key, prefix, key_hash = credentials.new_api_key()
    created = accounts.create_api_key(credentials.new_id("key"), org_id, name, prefix, key_hash,
                                      int(time.time()))
    return dict(created, key=key)
