"""The people of an organization: listing them, their roles and passwords, removing them."""

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kubewatch.db import read, write
from kubewatch.repository.account_rows import EmailTaken


class LastAdmin(Exception):
    """The change would leave an organization without an admin."""


_USER_COLUMNS = "id, org_id, email, role, created_at"


def users_for_org(org_id):
    """Return the organization's users, by email."""
    with read() as conn:
        rows = conn.execute(text(f"SELECT {_USER_COLUMNS} FROM users WHERE org_id = :org ORDER BY email"),
                            {"org": org_id}).mappings()
        return [dict(row) for row in rows]


def add_to_org(org_id, user_id, email, password_hash, role, now):
    """Store a new user of an existing organization and return it; raise EmailTaken when the email is in use."""
    try:
        with write() as conn:
            conn.execute(text("INSERT INTO users (id, org_id, email, password_hash, role, created_at) "
                              "VALUES (:id, :org, :email, :hash, :role, :now)"),
                         {"id": user_id, "org": org_id, "email": email, "hash": password_hash, "role": role,
                          "now": now})
    except IntegrityError:
        raise EmailTaken(email) from None
    return {"id": user_id, "org_id": org_id, "email": email, "role": role, "created_at": now}


def user_in_org(org_id, user_id):
    """Return one user of the organization, or None."""
    with read() as conn:
        row = conn.execute(text(f"SELECT {_USER_COLUMNS} FROM users WHERE id = :id AND org_id = :org"),
                           {"id": user_id, "org": org_id}).mappings().first()
        return dict(row) if row else None


def user_with_password(user_id):
    """Return the user with this id and its password_hash, or None."""
    with read() as conn:
        row = conn.execute(text(f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE id = :id"),
                           {"id": user_id}).mappings().first()
        return dict(row) if row else None


def _other_admins(conn, org_id, user_id):
    return conn.execute(text("SELECT COUNT(*) FROM users WHERE org_id = :org AND role = 'admin' AND id != :id"),
                        {"org": org_id, "id": user_id}).scalar_one()


def set_role(org_id, user_id, role):
    """Give a user of the organization a role; return the user, or None when there is no such user.

    Raises LastAdmin, changing nothing, when the user is the organization's last admin and role is not admin.
    """
    with write() as conn:
        if role != "admin" and not _other_admins(conn, org_id, user_id):
            if _is_admin(conn, org_id, user_id):
                raise LastAdmin(user_id)
        found = conn.execute(text("UPDATE users SET role = :role WHERE id = :id AND org_id = :org"),
                             {"role": role, "id": user_id, "org": org_id}).rowcount
    return user_in_org(org_id, user_id) if found else None


def set_password(org_id, user_id, password_hash):
    """Replace the password of a user of the organization; return False when there is no such user."""
    with write() as conn:
        return conn.execute(text("UPDATE users SET password_hash = :hash WHERE id = :id AND org_id = :org"),
                            {"hash": password_hash, "id": user_id, "org": org_id}).rowcount == 1


def delete_user(org_id, user_id):
    """Remove a user of the organization; return False when there is no such user.

    Raises LastAdmin, removing nothing, when the user is the organization's last admin.
    """
    with write() as conn:
        if _is_admin(conn, org_id, user_id) and not _other_admins(conn, org_id, user_id):
            raise LastAdmin(user_id)
        return conn.execute(text("DELETE FROM users WHERE id = :id AND org_id = :org"),
                            {"id": user_id, "org": org_id}).rowcount == 1


def _is_admin(conn, org_id, user_id):
    return conn.execute(text("SELECT 1 FROM users WHERE id = :id AND org_id = :org AND role = 'admin'"),
                        {"id": user_id, "org": org_id}).first() is not None
