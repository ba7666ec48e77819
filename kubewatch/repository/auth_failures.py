"""Failed sign-ins and registrations, by key, in fixed windows: in the database, so every server process counts them."""

from sqlalchemy import bindparam, text

from kubewatch.db import read, write


def counts(keys, now, window):
    """Return {key: (failures, window start)} of the keys whose window is still open at now."""
    with read() as conn:
        rows = conn.execute(text("SELECT key, failures, window_start FROM auth_failures "
                                 "WHERE key IN :keys AND window_start > :since").bindparams(
            bindparam("keys", expanding=True)), {"keys": list(keys), "since": now - window}).all()
    return {key: (failures, started) for key, failures, started in rows}


def fail(keys, now, window):
    """Count one failure against each key, opening a new window for a key whose window has closed."""
    with write() as conn:
        # Windows closed long ago are dropped here: the table holds at most one window of keys.
        conn.execute(text("DELETE FROM auth_failures WHERE window_start <= :since"), {"since": now - window})
        conn.execute(text(
            "INSERT INTO auth_failures (key, failures, window_start, last_attempt) VALUES (:key, 1, :now, 0) "
            "ON CONFLICT (key) DO UPDATE SET failures = auth_failures.failures + 1"), [
            {"key": key, "now": now} for key in keys])


def take_turn(key, now, every):
    """Claim key's one attempt of the moment: True when its last was at least every seconds ago, at most one winner."""
    with write() as conn:
        return conn.execute(text("UPDATE auth_failures SET last_attempt = :now "
                                 "WHERE key = :key AND last_attempt <= :before"),
                            {"key": key, "now": now, "before": now - every}).rowcount == 1


def clear(key):
    """Forget key's failures."""
    with write() as conn:
        conn.execute(text("DELETE FROM auth_failures WHERE key = :key"), {"key": key})
