"""A fresh PostgreSQL database per test, on the server KUBEWATCH_TEST_DATABASE names.

KUBEWATCH_TEST_DATABASE is the URL of a PostgreSQL database on a server where the tests may create
and drop databases (`postgresql+psycopg://postgres@127.0.0.1:5432/postgres`), as the PostgreSQL
run of the suite sets it. Without it these tests are skipped: several server processes on one
database need PostgreSQL (a second process on a SQLite file is refused).
"""

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SERVER = "KUBEWATCH_TEST_DATABASE"


def server_url():
    """Return the test server's URL; skip without one."""
    url = os.environ.get(SERVER, "")
    if not url.startswith("postgresql"):
        pytest.skip(f"{SERVER} names no PostgreSQL server: several server processes need one")
    return make_url(url).set(drivername="postgresql+psycopg")


@pytest.fixture
def postgres_url():
    """Yield the URL (a string) of a new empty database, dropped after the test."""
    server = server_url()
    name = "kw_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
