"""The database's pulse: that it answers, its schema version, its size and its rollup backlog."""

from sqlalchemy import text

from kubewatch.db import read


def ping():
    """Return the database's schema version; raise the driver's error when the database does not answer."""
    with read() as conn:
        return conn.execute(text("SELECT version FROM schema_version")).scalar_one()


def rollup_backlog(now):
    """Return how many seconds the oldest push not yet rolled up has waited since it was received; 0 when none."""
    with read() as conn:
        oldest = conn.execute(text("SELECT MIN(received_at) FROM pushes WHERE rolled_up = 0")).scalar()
    return max(0, now - oldest) if oldest is not None else 0


def database_size():
    """Return the database's size in bytes: SQLite's pages in use, or PostgreSQL's pg_database_size."""
    with read() as conn:
        if conn.dialect.name == "sqlite":
            pages = conn.execute(text("PRAGMA page_count")).scalar()
            return pages * conn.execute(text("PRAGMA page_size")).scalar()
        return conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
