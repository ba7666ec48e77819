"""The session-level advisory locks on PostgreSQL: the one that makes one server process the leader, and
the one a run of the rollup job holds."""

from sqlalchemy import text

# The lock's key ("kwld", kubewatch leader), apart from the one servers take in turn on start.
LEADER_LOCK = 0x6B776C64


def connect(engine):
    """Return a connection of its own for holding the lock, outside any transaction (autocommit)."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def try_lock(conn):
    """Take the lock on conn's session without waiting; return whether it is held now.

    PostgreSQL releases it when that session ends: its connection closed, or its process killed.
    """
    return bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}).scalar())


def still_held(conn):
    """Return whether conn's session still holds the lock; raises SQLAlchemyError when the session is gone."""
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
        "AND granted AND ((classid::bigint << 32) | objid::bigint) = :key)"), {"key": LEADER_LOCK}).scalar())


def unlock(conn):
    """Release the lock held on conn's session, at once (closing the session releases it too, a moment later)."""
    conn.execute(text("SELECT pg_advisory_unlock_all()"))


# The key of the lock one run of the rollup job holds ("kwrj", kubewatch rollup job): the leader's
# timer and `flask prune` run it in turn, never at once.
JOB_LOCK = 0x6B77726A


def lock_job(conn, wait):
    """Take the rollup job's lock on conn's session, waiting for it when wait; return whether it is held."""
    if wait:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": JOB_LOCK})
        return True
    return bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": JOB_LOCK}).scalar())


def unlock_job(conn):
    """Release the rollup job's lock held on conn's session."""
    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": JOB_LOCK})
