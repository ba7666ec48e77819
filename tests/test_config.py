"""Settings: defaults, then a TOML file, then KUBEWATCH_* variables; the secret kept in the instance folder."""

import os
import stat

import pytest

import kubewatch
from kubewatch import create_app
from kubewatch.accounts import add_user
from kubewatch.config import DEFAULTS, ConfigError, load_settings
from kubewatch.instance_secret import secret_key
from kubewatch.db import db
from conftest import PASSWORD, bearer


@pytest.fixture(autouse=True)
def no_kubewatch_environment(monkeypatch):
    """Keep the KUBEWATCH_* variables of whoever runs the tests out of them."""
    for name in list(os.environ):
        if name.startswith("KUBEWATCH_"):
            monkeypatch.delenv(name)


def write_toml(path, text):
    path.write_text(text)
    return path


def test_without_file_or_environment_every_setting_is_its_default(tmp_path):
    assert load_settings(tmp_path) == DEFAULTS


@pytest.mark.parametrize("toml, expected", [
    ('port = 9090', {"PORT": 9090}),
    ('PORT = 9090', {"PORT": 9090}),
    ('Port = 9090', {"PORT": 9090}),
    ('database_url = "sqlite:////var/lib/kw.db"', {"DATABASE_URL": "sqlite:////var/lib/kw.db"}),
    ('host = "127.0.0.1"\nthreads = 8\nlog_level = "DEBUG"', {"HOST": "127.0.0.1", "THREADS": 8, "LOG_LEVEL": "DEBUG"}),
    ('', {}),
])
def test_config_toml_beside_app_py_overrides_the_defaults(tmp_path, toml, expected):
    write_toml(tmp_path / "config.toml", toml)
    assert load_settings(tmp_path) == {**DEFAULTS, **expected}


def test_kubewatch_config_names_the_file_and_wins_over_config_toml(tmp_path, monkeypatch):
    write_toml(tmp_path / "config.toml", 'port = 1111\nhost = "beside"')
    named = write_toml(tmp_path / "elsewhere.toml", "port = 2222")
    monkeypatch.setenv("KUBEWATCH_CONFIG", str(named))
    settings = load_settings(tmp_path)
    assert settings["PORT"] == 2222
    assert settings["HOST"] == DEFAULTS["HOST"]  # config.toml is not read at all


def test_a_missing_file_named_by_kubewatch_config_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEWATCH_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="missing.toml"):
        load_settings(tmp_path)


def test_a_settings_file_that_is_not_toml_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "broken.toml").write_text("port = = 9")
    monkeypatch.setenv("KUBEWATCH_CONFIG", str(tmp_path / "broken.toml"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path)


@pytest.mark.parametrize("name, raw, expected", [
    ("PORT", "9090", 9090),
    ("PORT", " 9090 ", 9090),
    ("THREADS", "16", 16),
    ("SQLITE_MAX_PAGE_COUNT", "0", 0),
    ("HOST", "127.0.0.1", "127.0.0.1"),
    ("DATABASE_URL", "postgresql://kw@db/kw", "postgresql://kw@db/kw"),
    ("ADMIN_PASSWORD", "s3cret with spaces", "s3cret with spaces"),
    ("SECRET_KEY", "", ""),
])
def test_kubewatch_environment_variables_set_settings_with_the_defaults_type(tmp_path, monkeypatch, name, raw,
                                                                              expected):
    monkeypatch.setenv("KUBEWATCH_" + name, raw)
    settings = load_settings(tmp_path)
    assert settings[name] == expected
    assert type(settings[name]) is type(DEFAULTS[name])


def test_environment_overrides_the_file_which_overrides_the_defaults(tmp_path, monkeypatch):
    write_toml(tmp_path / "config.toml", 'port = 9090\nhost = "10.0.0.1"')
    monkeypatch.setenv("KUBEWATCH_PORT", "7070")
    settings = load_settings(tmp_path)
    assert (settings["PORT"], settings["HOST"], settings["THREADS"]) == (7070, "10.0.0.1", DEFAULTS["THREADS"])


def test_unknown_environment_variables_are_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEWATCH_NOT_A_SETTING", "1")
    settings = load_settings(tmp_path)
    assert settings == DEFAULTS


@pytest.mark.parametrize("toml, complaint", [
    ('prot = 9090', "unknown setting 'prot'"),
    ('[server]\nport = 9090', "unknown setting 'server'"),
    ('port = "9090"', "port must be a int"),
    ('port = 9090.0', "port must be a int"),
    ('port = true', "port must be a int"),
    ('host = 127', "host must be a str"),
    ('PORT = "9090"', "PORT must be a int"),
    ('admin_password = ["a"]', "admin_password must be a str"),
])
def test_an_unknown_setting_or_a_wrong_type_in_the_file_is_a_config_error(tmp_path, toml, complaint):
    path = write_toml(tmp_path / "config.toml", toml)
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    assert complaint in str(raised.value)
    assert str(path) in str(raised.value)  # the message says which file to fix


@pytest.mark.parametrize("name, raw", [
    ("PORT", "eighty"),
    ("PORT", ""),
    ("THREADS", "4.5"),
    ("AGENT_TOKEN_TTL", "1h"),
    ("MAX_CONTENT_LENGTH", "1MB"),
])
def test_a_non_integer_environment_value_for_an_integer_setting_is_a_config_error(tmp_path, monkeypatch, name,
                                                                                   raw):
    monkeypatch.setenv("KUBEWATCH_" + name, raw)
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    assert f"KUBEWATCH_{name} must be an integer" in str(raised.value)


def test_secret_key_is_created_on_first_call_with_mode_0600(tmp_path):
    instance = tmp_path / "instance"  # does not exist yet
    key = secret_key(instance)
    path = instance / "secret_key"
    assert len(key) >= 32
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_secret_key_is_the_same_on_the_second_call(tmp_path):
    assert secret_key(tmp_path) == secret_key(tmp_path)


def test_secret_keys_of_two_instance_folders_differ(tmp_path):
    assert secret_key(tmp_path / "a") != secret_key(tmp_path / "b")


def test_an_empty_secret_key_file_is_never_used_as_the_key(tmp_path):
    # What a crash between creating the file and writing it leaves behind, and what a second
    # process starting at the same moment reads. An empty key would let anyone sign tokens.
    (tmp_path / "secret_key").write_text("")
    try:
        key = secret_key(tmp_path)
    except ConfigError:
        return
    assert key


@pytest.fixture
def project_root(tmp_path, monkeypatch):
    """Make create_app take tmp_path as the checkout (config.toml beside app.py) and tmp_path/instance as its instance folder."""
    monkeypatch.setattr(kubewatch, "CHECKOUT", tmp_path)
    monkeypatch.setenv("KUBEWATCH_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path


def dispose(app):
    with app.app_context():
        db.engine.dispose()


def test_create_app_without_a_secret_key_uses_the_one_kept_in_the_instance_folder(project_root):
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    dispose(app)
    kept = (project_root / "instance" / "secret_key").read_text().strip()
    assert app.config["SECRET_KEY"] == kept
    assert kept


def test_create_app_with_a_secret_key_creates_no_secret_file(project_root):
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "configured"})
    dispose(app)
    assert app.config["SECRET_KEY"] == "configured"
    assert not (project_root / "instance" / "secret_key").exists()


def test_create_app_reads_config_toml_and_the_environment(project_root, monkeypatch):
    write_toml(project_root / "config.toml", 'database_url = "sqlite://"\npush_interval_seconds = 5\nport = 9000')
    monkeypatch.setenv("KUBEWATCH_PORT", "9001")
    app = create_app()
    dispose(app)
    assert (app.config["PUSH_INTERVAL_SECONDS"], app.config["PORT"]) == (5, 9001)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"


def test_user_tokens_survive_a_restart_without_a_configured_secret(project_root):
    config = {"TESTING": True, "DATABASE_URL": f"sqlite:///{project_root}/kw.db"}
    first = create_app(dict(config))
    try:
        with first.app_context():
            add_user("admin@acme.test", PASSWORD, "acme", "admin")
        login = first.test_client().post("/api/v1/auth/login",
                                         json={"email": "admin@acme.test", "password": PASSWORD})
        assert login.status_code == 200
    finally:
        dispose(first)
    restarted = create_app(dict(config))
    try:
        response = restarted.test_client().get("/api/v1/agents", headers=bearer(login.json["token"]))
        assert response.status_code == 200
    finally:
        dispose(restarted)


def test_an_unknown_log_level_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEWATCH_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    monkeypatch.setenv("KUBEWATCH_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_settings(tmp_path)


@pytest.mark.parametrize("settings", [
    {"RAW_RETENTION": "600"},  # less than an hour
    {"RAW_RETENTION": "172800", "MINUTE_RETENTION": "172800"},  # minutes not kept longer than raw samples
    {"MINUTE_RETENTION": "1209600", "HOUR_RETENTION": "86400"},  # hours shorter than minutes
    {"ROLLUP_INTERVAL": "-1"},
])
def test_retention_that_does_not_grow_tier_by_tier_is_a_config_error(tmp_path, monkeypatch, settings):
    for name, value in settings.items():
        monkeypatch.setenv(f"KUBEWATCH_{name}", value)
    with pytest.raises(ConfigError):
        load_settings(tmp_path)


def test_the_default_retention_is_48_hours_14_days_and_400_days(tmp_path):
    settings = load_settings(tmp_path)
    assert (settings["RAW_RETENTION"], settings["MINUTE_RETENTION"], settings["HOUR_RETENTION"]) == (
        48 * 3600, 14 * 86400, 400 * 86400)


@pytest.mark.parametrize("toml", ['external_url = "https://monitor.example.com"',
                                  'public_url = "https://monitor.example.com"'])
def test_external_url_is_read_under_its_older_name_public_url_too(tmp_path, toml):
    write_toml(tmp_path / "config.toml", toml)
    sources = {}
    assert load_settings(tmp_path, sources)["EXTERNAL_URL"] == "https://monitor.example.com"
    assert "PUBLIC_URL" not in load_settings(tmp_path)
    assert sources["EXTERNAL_URL"] == str(tmp_path / "config.toml")


def test_kubewatch_public_url_sets_external_url_and_both_variables_at_once_are_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEWATCH_PUBLIC_URL", "https://example.org/kubewatch")
    sources = {}
    assert load_settings(tmp_path, sources)["EXTERNAL_URL"] == "https://example.org/kubewatch"
    assert sources["EXTERNAL_URL"] == "KUBEWATCH_PUBLIC_URL"
    monkeypatch.setenv("KUBEWATCH_EXTERNAL_URL", "https://monitor.example.com")
    with pytest.raises(ConfigError, match="KUBEWATCH_PUBLIC_URL and KUBEWATCH_EXTERNAL_URL name the same setting"):
        load_settings(tmp_path)


def test_a_file_naming_external_url_twice_is_an_error(tmp_path):
    write_toml(tmp_path / "config.toml", 'external_url = "https://a.example.com"\npublic_url = "https://b.example.com"')
    with pytest.raises(ConfigError, match="public_url and external_url name the same setting"):
        load_settings(tmp_path)


def test_the_dashboard_prints_external_url_in_the_agent_command(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{tmp_path / 'kw.db'}",
                      "ROLLUP_INTERVAL": 0, "ALERT_INTERVAL": 0, "EXTERNAL_URL": "https://monitor.example.com/"})
    with app.app_context():
        add_user("admin@example.com", PASSWORD, "acme", "admin")
    client = app.test_client()
    signin = client.get("/login").get_data(as_text=True)
    csrf = signin.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"email": "admin@example.com", "password": PASSWORD,
                                       "csrf_token": csrf}).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "kubewatch-agent --url https://monitor.example.com --api-key" in page
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("limit, allowed", [("2", False), ("3", True), ("1000", True), ("1001", False)])
def test_connection_limit_stays_within_what_waitress_select_loop_takes(tmp_path, monkeypatch, limit, allowed):
    monkeypatch.setenv("KUBEWATCH_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    monkeypatch.setenv("KUBEWATCH_CONNECTION_LIMIT", limit)
    if allowed:
        assert load_settings(tmp_path)["CONNECTION_LIMIT"] == int(limit)
    else:
        with pytest.raises(ConfigError, match=r"CONNECTION_LIMIT must be between 3 and 1000: waitress waits on select"):
            load_settings(tmp_path)
