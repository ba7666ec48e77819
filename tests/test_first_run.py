"""The first start: an organization, an admin and an API key, created and printed once."""

import re
import shlex

import pytest

from kubewatch.first_run import bootstrap
from conftest import bearer


def printed(out, label):
    """Return the value printed after label on its own line of the first-start banner."""
    match = re.search(rf"^  {label}\s+(\S.*)$", out, re.M)
    assert match, f"no {label!r} line in:\n{out}"
    return match.group(1)


def agent_command(out):
    """Return the printed kubewatch-agent command as (environment, argv)."""
    line = next(line for line in out.splitlines() if "kubewatch-agent --url" in line)
    words = shlex.split(line)
    return dict(word.split("=", 1) for word in words[:1]), words[1:]


def docker_command(out):
    """Return the printed docker run command as argv, its continuation lines joined."""
    start = out.index("docker run ")
    end = out.index("\n", out.index("KUBEWATCH_API_KEY=", start))
    return shlex.split(out[start:end].replace("\\\n", " "))


def login(client, email, password):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def register(client, key):
    return client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"}, headers={"X-API-Key": key})


def test_first_start_prints_the_admin_the_password_and_a_key(app, capsys, query):
    assert bootstrap(app) is True
    out = capsys.readouterr().out
    assert printed(out, "admin email") == "admin@kubewatch.local"
    assert printed(out, "organization") == "default"
    assert len(printed(out, "password")) >= 16
    assert re.fullmatch(r"kw_live_[A-Za-z0-9_-]{32,}", printed(out, "API key"))
    assert "not shown again" in out
    assert [tuple(r) for r in query("SELECT u.email, u.role, o.name FROM users u "
                                    "JOIN organizations o ON o.id = u.org_id")] == [
        ("admin@kubewatch.local", "admin", "default")]


def test_the_printed_password_signs_in_an_admin(app, client, capsys):
    bootstrap(app)
    out = capsys.readouterr().out
    response = login(client, printed(out, "admin email"), printed(out, "password"))
    assert response.status_code == 200
    # An admin may delete: an unknown agent is 404, not 403.
    assert client.delete("/api/v1/agents/agent_00000000", headers=bearer(response.json["token"])).status_code == 404


def test_the_printed_key_registers_an_agent(app, client, capsys):
    bootstrap(app)
    assert register(client, printed(capsys.readouterr().out, "API key")).status_code == 200


def test_the_next_step_is_the_agent_command_with_this_server_s_url_and_key(app, capsys):
    bootstrap(app)
    out = capsys.readouterr().out
    key = printed(out, "API key")
    environment, argv = agent_command(out)
    assert (environment, argv) == ({"KUBEWATCH_API_KEY": key}, ["kubewatch-agent", "--url", "http://127.0.0.1:8080"])
    assert "curl" not in out and "my-host" not in out


def test_the_next_step_gives_the_docker_run_form_with_the_socket_and_machine_id(app, capsys):
    bootstrap(app)
    out = capsys.readouterr().out
    argv = docker_command(out)
    assert argv[:4] == ["docker", "run", "-d", "--name"] and argv[-1] == "kubewatch-agent"
    volumes = [argv[i + 1] for i, word in enumerate(argv) if word == "-v"]
    assert volumes == ["/var/run/docker.sock:/var/run/docker.sock:ro", "/etc/machine-id:/etc/machine-id:ro"]
    environment = dict(argv[i + 1].split("=", 1) for i, word in enumerate(argv) if word == "-e")
    assert environment == {"KUBEWATCH_URL": "http://127.0.0.1:8080", "KUBEWATCH_API_KEY": printed(out, "API key")}


# waitress listens on "::" for IPv6 only (it sets IPV6_V6ONLY): 127.0.0.1 is refused there.
@pytest.mark.parametrize("host, port, netloc", [
    ("0.0.0.0", 8080, "127.0.0.1:8080"),
    ("127.0.0.1", 8080, "127.0.0.1:8080"),
    ("10.1.2.3", 9000, "10.1.2.3:9000"),
    ("monitor.example.com", 80, "monitor.example.com:80"),
    ("::", 8080, "[::1]:8080"),
    ("::1", 8080, "[::1]:8080"),
])
def test_the_agent_command_points_at_an_address_the_server_answers_on(app, capsys, host, port, netloc):
    app.config.update(HOST=host, PORT=port)
    bootstrap(app)
    out = capsys.readouterr().out
    url = agent_command(out)[1][2]
    assert url == f"http://{netloc}"
    assert f"KUBEWATCH_URL={url}" in docker_command(out)


def test_a_second_start_prints_nothing_and_creates_nothing(app, capsys, query):
    assert bootstrap(app) is True
    capsys.readouterr()
    assert bootstrap(app) is False
    assert capsys.readouterr().out == ""
    counts = [query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("organizations", "users", "api_keys")]
    assert counts == [1, 1, 1]


def test_a_configured_admin_is_created_and_its_password_is_not_printed(app, client, capsys, query):
    password = "a password I chose myself"
    app.config.update(ADMIN_EMAIL="Boss@Example.test", ADMIN_PASSWORD=password, ORG_NAME="ops")
    assert bootstrap(app) is True
    out = capsys.readouterr().out
    assert password not in out
    assert "KUBEWATCH_ADMIN_PASSWORD" in printed(out, "password")
    assert printed(out, "organization") == "ops"
    assert [tuple(r) for r in query("SELECT u.email, u.role, o.name FROM users u "
                                    "JOIN organizations o ON o.id = u.org_id")] == [
        ("boss@example.test", "admin", "ops")]
    response = login(client, "boss@example.test", password)
    assert response.status_code == 200
    assert client.delete("/api/v1/agents/agent_00000000", headers=bearer(response.json["token"])).status_code == 404
    assert register(client, printed(out, "API key")).status_code == 200


def test_nothing_is_done_when_a_user_already_exists(app, org, capsys, query):
    before = [tuple(r) for r in query("SELECT id, name FROM organizations")]
    keys = query("SELECT COUNT(*) FROM api_keys")[0][0]
    assert bootstrap(app) is False
    assert capsys.readouterr().out == ""
    assert [tuple(r) for r in query("SELECT id, name FROM organizations")] == before
    assert query("SELECT COUNT(*) FROM api_keys")[0][0] == keys
    assert query("SELECT COUNT(*) FROM users WHERE email = 'admin@kubewatch.local'")[0][0] == 0


def test_a_configured_admin_password_too_short_stops_the_first_start(app, capsys, query):
    from kubewatch.config import ConfigError
    app.config.update(ADMIN_PASSWORD="short")
    with pytest.raises(ConfigError, match="KUBEWATCH_ADMIN_PASSWORD"):
        bootstrap(app)
    assert query("SELECT COUNT(*) FROM users")[0][0] == 0
