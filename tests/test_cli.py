"""The flask commands: init-db, create-user and create-api-key (the kubewatch command runs them too)."""

import re

import pytest

from kubewatch.db import SCHEMA_VERSION
from conftest import bearer

PASSWORD = "password123"
COMMANDS = [
    ["init-db"],
    ["create-user", "ann@acme.test", "--org", "acme", "--create-org", "--password-stdin"],
    ["create-api-key", "--org", "acme"],
]


@pytest.fixture
def cli(app, runner):
    """Return runner.invoke run as `flask` runs app commands: inside the app's context."""
    def invoke(args, **kwargs):
        with app.app_context():
            return runner.invoke(args=args, **kwargs)
    return invoke


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_commands_run_from_the_test_cli_runner(runner, org, args):
    # app.test_cli_runner() invokes app.cli, which pushes no app context (the `flask` command does):
    # a command that needs one has to bring it, as flask.cli.with_appcontext does.
    result = runner.invoke(args=args, input=PASSWORD + "\n")
    assert result.exit_code == 0, repr(result.exception)


def create_user(cli, email, *options, password=PASSWORD):
    return cli(["create-user", email, *options, "--password-stdin"], input=password + "\n")


def login(client, email, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def register(client, key):
    return client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"}, headers={"X-API-Key": key})


def test_init_db_succeeds_twice_and_says_the_database_is_ready(cli):
    for _ in range(2):
        result = cli(["init-db"])
        assert result.exit_code == 0, result.output
        assert "Database ready" in result.output
        assert f"schema {SCHEMA_VERSION}" in result.output


def test_init_db_keeps_existing_users(cli, client):
    create_user(cli, "ann@acme.test", "--org", "acme", "--create-org")
    assert cli(["init-db"]).exit_code == 0
    assert login(client, "ann@acme.test").status_code == 200


def test_create_user_creates_the_user_and_the_organization(cli, client, query):
    result = create_user(cli, "ann@acme.test", "--org", "acme", "--create-org", "--role", "admin")
    assert result.exit_code == 0, result.output
    assert "Created admin ann@acme.test in organization acme." in result.output
    assert [tuple(r) for r in query("SELECT name FROM organizations")] == [("acme",)]
    response = login(client, "ann@acme.test")
    assert response.status_code == 200
    # An admin may delete: an unknown agent is 404, not 403.
    assert client.delete("/api/v1/agents/agent_00000000", headers=bearer(response.json["token"])).status_code == 404


def test_create_user_is_a_viewer_unless_told_otherwise(cli, client, query):
    assert create_user(cli, "vic@acme.test", "--org", "acme", "--create-org").exit_code == 0
    assert [tuple(r) for r in query("SELECT role FROM users WHERE email = 'vic@acme.test'")] == [("viewer",)]
    token = login(client, "vic@acme.test").json["token"]
    assert client.delete("/api/v1/agents/agent_00000000", headers=bearer(token)).status_code == 403


def test_create_user_in_an_existing_organization_joins_it(cli, query):
    create_user(cli, "ann@acme.test", "--org", "acme", "--create-org", "--role", "admin")
    create_user(cli, "bob@acme.test", "--org", "acme", "--create-org")
    assert query("SELECT COUNT(*) FROM organizations")[0][0] == 1
    assert query("SELECT COUNT(DISTINCT org_id) FROM users")[0][0] == 1


def test_create_user_without_password_stdin_prompts_twice(cli, client):
    result = cli(["create-user", "ann@acme.test", "--org", "acme", "--create-org"],
             input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert PASSWORD not in result.output  # typed, not echoed
    assert login(client, "ann@acme.test").status_code == 200


def test_create_user_refuses_prompted_passwords_that_do_not_match(cli, query):
    result = cli(["create-user", "ann@acme.test", "--org", "acme", "--create-org"],
             input=f"{PASSWORD}\nsomething else\n")
    assert result.exit_code != 0
    assert "do not match" in result.output
    assert query("SELECT COUNT(*) FROM users")[0][0] == 0


@pytest.mark.parametrize("password, prompted", [
    ("", False), ("short", False), ("1234567", False), ("1234567", True),
])
def test_create_user_refuses_a_password_shorter_than_8(cli, query, password, prompted):
    args = ["create-user", "ann@acme.test", "--org", "acme", "--create-org"]
    if prompted:
        result = cli(args, input=f"{password}\n{password}\n")
    else:
        result = cli([*args, "--password-stdin"], input=password + "\n")
    assert result.exit_code != 0
    assert "at least 8 characters" in result.output
    assert query("SELECT COUNT(*) FROM users")[0][0] == 0
    assert query("SELECT COUNT(*) FROM organizations")[0][0] == 0


def test_create_user_accepts_a_password_of_exactly_8(cli, client):
    assert create_user(cli, "ann@acme.test", "--org", "acme", "--create-org", password="12345678").exit_code == 0
    assert login(client, "ann@acme.test", "12345678").status_code == 200


def test_create_user_keeps_spaces_inside_a_password_from_stdin(cli, client):
    assert create_user(cli, "ann@acme.test", "--org", "acme", "--create-org", password="  spaced out  ").exit_code == 0
    assert login(client, "ann@acme.test", "  spaced out  ").status_code == 200


@pytest.mark.parametrize("again", ["ann@acme.test", "ANN@Acme.Test", " ann@acme.test "])
def test_create_user_refuses_an_email_in_use_with_a_clear_message(cli, client, query, again):
    create_user(cli, "ann@acme.test", "--org", "acme", "--create-org")
    result = create_user(cli, again, "--org", "acme", "--create-org", password="another password")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert query("SELECT COUNT(*) FROM users")[0][0] == 1
    assert login(client, "ann@acme.test").status_code == 200  # the first user's password is unchanged


def test_create_user_refused_for_an_email_in_use_creates_no_organization(cli, query):
    create_user(cli, "ann@acme.test", "--org", "acme", "--create-org")
    result = create_user(cli, "ann@acme.test", "--org", "typo-org", "--create-org")
    assert result.exit_code != 0
    # Nobody can sign in to typo-org: it must not exist, nor take API keys for agents no one sees.
    assert cli(["create-api-key", "--org", "typo-org"]).exit_code != 0
    assert [tuple(r) for r in query("SELECT name FROM organizations")] == [("acme",)]


def test_create_user_stores_the_email_in_lowercase(cli, client, query):
    assert create_user(cli, " Ann@ACME.Test ", "--org", "acme", "--create-org").exit_code == 0
    assert [tuple(r) for r in query("SELECT email FROM users")] == [("ann@acme.test",)]
    assert login(client, "ann@acme.test").status_code == 200


@pytest.mark.parametrize("args, complaint", [
    (["create-user", "ann@acme.test", "--password-stdin"], "--org"),
    (["create-user", "--org", "acme", "--create-org", "--password-stdin"], "EMAIL"),
    (["create-user", "ann@acme.test", "--org", "acme", "--create-org", "--role", "owner", "--password-stdin"], "owner"),
])
def test_create_user_with_bad_arguments_creates_nobody(cli, query, args, complaint):
    result = cli(args, input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert complaint in result.output
    assert query("SELECT COUNT(*) FROM users")[0][0] == 0


def test_create_api_key_prints_a_key_that_registers_an_agent(cli, client, query):
    create_user(cli, "ann@acme.test", "--org", "acme", "--create-org")
    result = cli(["create-api-key", "--org", "acme", "--name", "laptop"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert re.fullmatch(r"kw_live_[A-Za-z0-9_-]{32,}", key)
    assert register(client, key).status_code == 200
    assert [tuple(r) for r in query("SELECT k.name, o.name FROM api_keys k JOIN organizations o ON o.id = k.org_id")
            ] == [("laptop", "acme")]


def test_create_api_key_gives_a_new_working_key_each_time(cli, client, org):
    first, second = (cli(["create-api-key", "--org", "acme"]).output.strip() for _ in range(2))
    assert first != second
    assert [register(client, key).status_code for key in (first, second)] == [200, 200]


def test_create_api_key_for_an_unknown_organization_fails_clearly(cli, query):
    result = cli(["create-api-key", "--org", "nowhere", "--name", "x"])
    assert result.exit_code != 0
    assert "There is no organization nowhere; the organizations are: none yet." in result.output
    assert query("SELECT COUNT(*) FROM api_keys")[0][0] == 0
    assert query("SELECT COUNT(*) FROM organizations")[0][0] == 0


def test_create_user_in_an_unknown_organization_fails_and_lists_those_that_exist(cli, query):
    create_user(cli, "ann@acme.test", "--org", "acme", "--create-org")
    create_user(cli, "gus@globex.test", "--org", "globex", "--create-org")
    result = create_user(cli, "dave@example.com", "--org", "nosuchorg")
    assert result.exit_code == 1
    assert ("There is no organization nosuchorg; the organizations are: acme, globex. Add --create-org to "
            "create it.") in result.output
    assert "Created" not in result.output
    assert [tuple(r) for r in query("SELECT name FROM organizations ORDER BY name")] == [("acme",), ("globex",)]
    assert query("SELECT COUNT(*) FROM users WHERE email = 'dave@example.com'")[0][0] == 0


def test_create_user_with_create_org_creates_the_organization(cli, query):
    result = create_user(cli, "dave@example.com", "--org", "newco", "--create-org")
    assert result.exit_code == 0, result.output
    assert "Created viewer dave@example.com in organization newco." in result.output
    assert [tuple(r) for r in query("SELECT name FROM organizations")] == [("newco",)]
