"""Fixtures: the engine a test runs on, an app on a new database of it (SQLite in memory, or PostgreSQL: see engines.py), its client, and two organizations to test with."""

import os
from functools import cached_property

import pytest
from sqlalchemy import text

import engines
from kubewatch import create_app, credentials
from kubewatch.accounts import add_api_key
from kubewatch.db import db
from kubewatch.repository import account_rows

YEAR = 365 * 86400
# The fixed dates of the sample pushes stay inside the raw tier however long ago they are.
TEST_CONFIG = {"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "test-secret-key",
               "RAW_RETENTION": 10 * YEAR, "MINUTE_RETENTION": 11 * YEAR, "HOUR_RETENTION": 12 * YEAR,
               # Tests push as fast as they can; tests/test_push_limits.py sets the rate it checks.
               "PUSHES_PER_INTERVAL": 10**9, "OBJECTS_PER_INTERVAL": 10**12}
PASSWORD = "correct horse battery"
# scrypt is slow on purpose: hash the shared test password once, not once per user.
PASSWORD_HASH = credentials.hash_password(PASSWORD)


def fresh_config(**overrides):
    """Return TEST_CONFIG on a new database of the engine under test, with overrides."""
    return {**TEST_CONFIG, "DATABASE_URL": engines.fresh_url(), **overrides}


def sample_push(timestamp="2026-06-16T10:00:00Z", containers=None, **extra):
    """Return the documented push body, optionally with other containers or fields."""
    if containers is None:
        containers = [container("a1b2c3d4e5f6", "nginx-prod")]
    return {"timestamp": timestamp, "containers": containers, "nodes": [], "pods": [], **extra}


def container(cid, name, **fields):
    """Return a container object as documented, with fields overridden."""
    return {"id": cid, "name": name, "image": "nginx:1.25", "status": "running", "cpuPercent": 12.4,
            "memoryMB": 48, "memoryLimitMB": 512, "networkRxBytes": 10240, "networkTxBytes": 8192,
            "restartCount": 0, **fields}


class Org:
    """One organization: an admin, a viewer, an API key, and calls made as them."""

    def __init__(self, app, client, name):
        self.client = client
        self.name = name
        with app.app_context():
            for role in ("admin", "viewer"):
                self.id = account_rows.create_user(credentials.new_id("org"), name, credentials.new_id("usr"),
                                               f"{role}@{name}.test", PASSWORD_HASH, role, 0)
            self.api_key = add_api_key(self.id, "test")["key"]

    @cached_property
    def admin(self):
        return self.login(f"admin@{self.name}.test")

    @cached_property
    def viewer(self):
        return self.login(f"viewer@{self.name}.test")

    def login(self, email, password=PASSWORD):
        response = self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.json
        return response.json["token"]

    def register(self, name="prod-web", hostname="prod-web-01", **fields):
        body = {"name": name, "hostname": hostname, "version": "1.4.2", "platform": "docker", **fields}
        response = self.client.post("/api/v1/agents/register", json=body, headers={"X-API-Key": self.api_key})
        assert response.status_code == 200, response.json
        return response.json

    def push(self, agent, body=None):
        return self.client.post(f"/api/v1/agents/{agent['agentId']}/push", json=body or sample_push(),
                                headers=bearer(agent["token"]))

    def agents(self, token=None):
        return self.client.get("/api/v1/agents", headers=bearer(token or self.viewer))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run the slow load, crash and fuzz tests")


def pytest_report_header(config):
    server = engines.VARIABLE if os.environ.get(engines.VARIABLE) else "a throwaway cluster of this run's own"
    return f"database engines: sqlite, and postgresql on {server}"


def pytest_sessionfinish(session, exitstatus):
    engines.drop_all()


def pytest_generate_tests(metafunc):
    """Run each test of a database (one asking for `db_engine`, or marked for one engine) once per engine it is for."""
    only = metafunc.definition.get_closest_marker("engine_only")
    if "db_engine" not in metafunc.fixturenames:
        if only is None:
            return
        metafunc.fixturenames.append("db_engine")
    # Session-wide parameters: the tests of one engine run together, a module's server once per engine.
    metafunc.parametrize("db_engine", [only.args[0]] if only else engines.NAMES, indirect=True, scope="session")


@pytest.fixture(scope="session")
def db_engine(request):
    """The engine the test runs on: "sqlite" or "postgresql" (skipped, saying why, without a PostgreSQL server)."""
    if request.param == engines.POSTGRESQL:
        engines.server()
    return request.param


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Before any of the test's fixtures, a module's server too, make their databases on its engine.
    callspec = getattr(item, "callspec", None)
    engines.use(callspec.params.get("db_engine") if callspec else None)


@pytest.fixture(autouse=True)
def _databases():
    """Drop the PostgreSQL databases a test made, once it ends."""
    engines.begin_test()
    yield
    engines.drop_made()


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:  # deselected, not skipped: `--slow` (as .ci/run does) runs them
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


@pytest.fixture
def postgres_url(db_engine):
    """The URL of a new, empty PostgreSQL database (servers make the schema), dropped after the test (marked postgresql_only)."""
    assert db_engine == engines.POSTGRESQL, "a test of postgres_url is marked engines.postgresql_only"
    return engines.fresh_url(schema=False)


@pytest.fixture
def app(db_engine):
    app = create_app(fresh_config())
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def org(app, client):
    return Org(app, client, "acme")


@pytest.fixture
def other_org(app, client):
    return Org(app, client, "globex")


@pytest.fixture
def query(app):
    """Return a function that runs SQL on the app's database and returns the rows."""
    def run(sql, **params):
        with app.app_context(), db.engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    return run
