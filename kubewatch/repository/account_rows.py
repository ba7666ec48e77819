"""Organizations, users and API keys."""

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kubewatch.db import read, read_one_statement, write


class EmailTaken(Exception):
    """A user with this email already exists."""


def org_by_name(name):
    """Return the id of the organization called name, or None."""
    row = _one("SELECT id FROM organizations WHERE name = :v", name)
    return row and row["id"]


def org_names():
    """Return the names of every organization, sorted."""
    with read() as conn:
        return list(conn.execute(text("SELECT name FROM organizations ORDER BY name")).scalars())


def create_user(new_org_id, org_name, user_id, email, password_hash, role, now):
    """Store a user in the organization called org_name, creating it with new_org_id when new.

    Returns the organization's id. Raises EmailTaken when the email is in use, and then
    creates nothing: user and organization are one transaction.
    """
    try:
        with write() as conn:
            conn.execute(
                text("INSERT INTO organizations (id, name, created_at) VALUES (:id, :name, :now) "
                     "ON CONFLICT (name) DO NOTHING"),
                {"id": new_org_id, "name": org_name, "now": now},
            )
            org_id = conn.execute(text("SELECT id FROM organizations WHERE name = :name"),
                                  {"name": org_name}).scalar_one()
            conn.execute(
                text("INSERT INTO users (id, org_id, email, password_hash, role, created_at) "
                     "VALUES (:id, :org_id, :email, :hash, :role, :now)"),
                {"id": user_id, "org_id": org_id, "email": email, "hash": password_hash,
                 "role": role, "now": now},
            )
    except IntegrityError:
        raise EmailTaken(email) from None
    return org_id


def user_by_email(email):
    """Return the user with this email, or None."""
    return _one("SELECT id, org_id, email, password_hash, role FROM users WHERE email = :v", email)


def user_by_id(user_id):
    """Return the user with this id, or None."""
    return _one("SELECT id, org_id, email, role FROM users WHERE id = :v", user_id)


def has_users():
    """Tell whether any user exists yet."""
    with read() as conn:
        return conn.execute(text("SELECT 1 FROM users LIMIT 1")).first() is not None


def create_api_key(key_id, org_id, name, prefix, key_hash, now, scope="ingest"):
    """Store an API key by its hash and return its listing."""
    with write() as conn:
        conn.execute(
            text("INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at, scope) "
                 "VALUES (:id, :org_id, :name, :prefix, :hash, :now, :scope)"),
            {"id": key_id, "org_id": org_id, "name": name, "prefix": prefix, "hash": key_hash,
             "now": now, "scope": scope},
        )
    return {"id": key_id, "name": name, "prefix": prefix, "scope": scope, "created_at": now, "revoked_at": None,
            "last_used_at": None}


def api_key_by_hash(key_hash):
    """Return {id, org_id, prefix, scope, last_used_at} of a key that is not revoked, or None."""
    return _one("SELECT id, org_id, prefix, scope, last_used_at FROM api_keys "
                "WHERE key_hash = :v AND revoked_at IS NULL", key_hash)


def api_keys_for_org(org_id):
    """Return the listings of an organization's keys, newest first."""
    with read() as conn:
        rows = conn.execute(
            text("SELECT id, name, prefix, scope, created_at, revoked_at, last_used_at FROM api_keys "
                 "WHERE org_id = :org_id ORDER BY created_at DESC, id"),
            {"org_id": org_id},
        ).mappings()
        return [dict(row) for row in rows]


def note_api_key_used(key_id, now, unless_since):
    """Set the key's last use to now, unless it was already noted at unless_since or later; return True when set."""
    with write() as conn:
        return conn.execute(
            text("UPDATE api_keys SET last_used_at = :now WHERE id = :id "
                 "AND (last_used_at IS NULL OR last_used_at < :since)"),
            {"id": key_id, "now": now, "since": unless_since},
        ).rowcount == 1


def revoke_api_key(org_id, key_id, now, on_commit=lambda key_id: None):
    """Revoke a key of org_id and bump the revocation generation; return False when it has no such key.

    on_commit(key_id) runs once the revocation is committed, before the next writer starts.
    """
    done = []
    with write(done) as conn:
        found = conn.execute(
            text("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, :now) "
                 "WHERE id = :id AND org_id = :org_id"),
            {"id": key_id, "org_id": org_id, "now": now},
        ).rowcount
        if found:
            conn.execute(text("UPDATE key_revocations SET generation = generation + 1"))
            done.append(lambda: on_commit(key_id))
    return found == 1


def revocation_generation():
    """Return the counter every revocation of a key bumps."""
    with read_one_statement() as conn:  # read on every push on PostgreSQL: one round trip, not three
        return conn.execute(text("SELECT generation FROM key_revocations")).scalar()


def revoked_key_ids():
    """Return the ids of every revoked key."""
    with read() as conn:
        return conn.execute(text("SELECT id FROM api_keys WHERE revoked_at IS NOT NULL")).scalars().all()


def _one(sql, value):
    with read() as conn:
        row = conn.execute(text(sql), {"v": value}).mappings().first()
        return dict(row) if row else None
