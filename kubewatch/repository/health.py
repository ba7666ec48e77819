"""The database's pulse."""

from sqlalchemy import text

from kubewatch.db import read


def ping():
    """Run a trivial query; raise the driver's error when the database does not answer."""
    with read() as conn:
        conn.execute(text("SELECT 1 FROM schema_version")).scalar_one()
