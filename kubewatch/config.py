"""Settings: defaults, then a TOML file, then KUBEWATCH_* environment variables."""

import os
import re
import tomllib
from pathlib import Path

DEFAULTS = {
    "DATABASE_URL": "sqlite:///kubewatch.db",
    "HOST": "0.0.0.0",
    "PORT": 8080,
    "THREADS": 1,
    "HASH_WORKERS": 1,
    "HASH_QUEUE": 4,
    "CONNECTION_LIMIT": 1000,
    "CHANNEL_TIMEOUT": 120,
    "SECRET_KEY": "",
    "AGENT_TOKEN_TTL": 3600,
    "PUSH_INTERVAL_SECONDS": 15,
    "USER_TOKEN_TTL": 86400,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # One agent's share, sized for an agent watching a 10,000-pod cluster (push_limits.py).
    "MAX_OBJECTS_PER_PUSH": 20_000,
    "MAX_DESCRIBED_OBJECTS": 200_000,
    "PUSHES_PER_INTERVAL": 30,
    "OBJECTS_PER_INTERVAL": 40_000,
    "DATABASE_SIZE_LIMIT_MB": 0,
    "MAX_DECOMPRESSED_LENGTH": 16 * 1024 * 1024,
    "SQLITE_SYNCHRONOUS": "NORMAL",
    "SQLITE_MAX_PAGE_COUNT": 0,
    "ADMIN_EMAIL": "admin@kubewatch.local",
    "ADMIN_PASSWORD": "",
    "ORG_NAME": "default",
    "LOG_LEVEL": "INFO",
    "AUTH_FAILURE_LIMIT": 10,
    "AUTH_FAILURE_WINDOW": 300,
    "AUTH_ACCOUNT_FAILURE_LIMIT": 100,
    "AUTH_ACCOUNT_SLOW_SECONDS": 2,
    "RAW_RETENTION": 48 * 3600,
    "MINUTE_RETENTION": 14 * 86400,
    "HOUR_RETENTION": 400 * 86400,
    "ROLLUP_INTERVAL": 60,
    "BACKUP_INTERVAL": 0,
    "BACKUP_KEEP": 7,
    "ALERT_INTERVAL": 15,
    "ALERT_DELIVERY_TIMEOUT": 10,
    "EXTERNAL_URL": "",
    "TRUSTED_PROXY_HOPS": 0,
}

# select() takes file descriptors below 1024: this many connections, plus the database's and log's files.
MAX_CONNECTION_LIMIT = 1000

ENV_PREFIX = "KUBEWATCH_"
# Older names still read, for the files and environments of earlier releases: {older: setting}.
ALIASES = {"PUBLIC_URL": "EXTERNAL_URL"}


class ConfigError(ValueError):
    """A setting in the file or the environment cannot be used."""


def instance_path(environ=os.environ) -> str | None:
    """Return KUBEWATCH_INSTANCE_PATH made absolute, or None for Flask's default.

    Flask's default is instance/ beside the package in a checkout, <prefix>/var/kubewatch-instance
    when the server is installed with pip.
    """
    named = environ.get(ENV_PREFIX + "INSTANCE_PATH")
    return str(Path(named).expanduser().resolve()) if named else None


def config_file(folders) -> Path | None:
    """Return the TOML file to read: KUBEWATCH_CONFIG, else the first of folders' config.toml files, else None."""
    named = os.environ.get(ENV_PREFIX + "CONFIG")
    if named:
        return Path(named)
    for folder in [folders] if isinstance(folders, Path) else folders:
        if (folder / "config.toml").exists():
            return folder / "config.toml"
    return None


def load_settings(folders, sources=None) -> dict:
    """Return every setting, each later source overriding the earlier ones.

    folders (a Path or a list of them) are where to look for config.toml without KUBEWATCH_CONFIG.
    When sources is a dict, it is filled with where each setting came from: "default", the file's
    path, or the variable's name; and "_FILE" with the file read, or None.
    """
    sources = {} if sources is None else sources
    sources.update(dict.fromkeys(DEFAULTS, "default"))
    settings = dict(DEFAULTS)
    path = config_file(folders)
    sources["_FILE"] = str(path) if path else None
    if path is not None:
        try:
            with open(path, "rb") as handle:
                from_file = tomllib.load(handle)
        except OSError as error:
            raise ConfigError(f"cannot read the settings file {path}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path} is not valid TOML: {error}") from None
        from_file = _known(from_file, str(path))
        settings.update(from_file)
        sources.update(dict.fromkeys(from_file, str(path)))
    for name, default in DEFAULTS.items():
        for variable in [ENV_PREFIX + older for older, newer in ALIASES.items() if newer == name] + [ENV_PREFIX + name]:
            raw = os.environ.get(variable)
            if raw is not None:
                _one_name(name, sources, variable)
                settings[name] = _coerce(name, raw, default)
                sources[name] = variable
    return check(settings)


def _one_name(name, sources, source):
    """Raise ConfigError when a setting came from a file or variable under its other name too."""
    earlier = sources.get(name, "default")
    if earlier != "default" and earlier.startswith(ENV_PREFIX) and source.startswith(ENV_PREFIX):
        raise ConfigError(f"{earlier} and {source} name the same setting: keep only {ENV_PREFIX}{name}")


def _known(values: dict, source: str) -> dict:
    """Check that a file names only known settings, with the default's type."""
    checked = {}
    for name, value in values.items():
        key = ALIASES.get(name.upper(), name.upper())
        if key in checked:
            raise ConfigError(f"{source}: {name} and {key.lower()} name the same setting: keep only {key.lower()}")
        if key not in DEFAULTS:
            raise ConfigError(f"{source}: unknown setting {name!r}")
        if type(value) is not type(DEFAULTS[key]):
            raise ConfigError(f"{source}: {name} must be a {type(DEFAULTS[key]).__name__}")
        checked[key] = value
    return checked


def check(settings):
    """Raise ConfigError for a setting whose value cannot work; return settings."""
    if str(settings["LOG_LEVEL"]).upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {settings['LOG_LEVEL']!r}")
    raw, minute, hour = (settings[name] for name in ("RAW_RETENTION", "MINUTE_RETENTION", "HOUR_RETENTION"))
    # A push accepted late recomputes its hour from its minutes: they must all still be kept.
    if not 3600 <= raw <= minute - 3600 or hour < minute:
        raise ConfigError("retention must grow tier by tier: RAW_RETENTION at least 3600 s, MINUTE_RETENTION "
                          "at least an hour longer, HOUR_RETENTION at least as long as MINUTE_RETENTION")
    for name in ("THREADS", "HASH_WORKERS", "AUTH_FAILURE_LIMIT", "AUTH_FAILURE_WINDOW", "AUTH_ACCOUNT_FAILURE_LIMIT",
                 "AUTH_ACCOUNT_SLOW_SECONDS", "MAX_OBJECTS_PER_PUSH", "MAX_DESCRIBED_OBJECTS", "PUSHES_PER_INTERVAL",
                 "OBJECTS_PER_INTERVAL", "PUSH_INTERVAL_SECONDS", "MAX_CONTENT_LENGTH"):
        if settings[name] < 1:
            raise ConfigError(f"{name} must be at least 1")
    if not 3 <= settings["CONNECTION_LIMIT"] <= MAX_CONNECTION_LIMIT:
        # waitress counts its listening socket and its wake-up pipe against the limit, and waits on
        # select(), which cannot take a file descriptor from 1024 on: past this, it would stop serving.
        raise ConfigError(f"CONNECTION_LIMIT must be between 3 and {MAX_CONNECTION_LIMIT}: waitress waits on "
                          "select(), which takes no more than 1024 open files; agents hold a connection only "
                          "while they push, so 1,000 serves 10,000 agents and more")
    if settings["HASH_QUEUE"] < 0:
        raise ConfigError("HASH_QUEUE must be 0 or more sign-ins waiting for a password check")
    if settings["DATABASE_SIZE_LIMIT_MB"] < 0:
        raise ConfigError("DATABASE_SIZE_LIMIT_MB must be 0 (no limit) or a number of megabytes")
    if settings["MAX_DECOMPRESSED_LENGTH"] < 1:
        raise ConfigError("MAX_DECOMPRESSED_LENGTH must be a number of bytes")
    if settings["TRUSTED_PROXY_HOPS"] < 0:
        raise ConfigError("TRUSTED_PROXY_HOPS must be 0 (no proxy believed) or the number of proxies in front")
    external = settings["EXTERNAL_URL"]
    if external and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", external):
        raise ConfigError(f"EXTERNAL_URL must be an http:// or https:// URL with a host, like "
                          f"https://monitor.example.com, not {external!r}")
    if settings["ROLLUP_INTERVAL"] < 0:
        raise ConfigError("ROLLUP_INTERVAL must be 0 (no timer) or a number of seconds")
    if settings["BACKUP_INTERVAL"] < 0:
        raise ConfigError("BACKUP_INTERVAL must be 0 (no scheduled backups) or a number of seconds")
    if settings["BACKUP_KEEP"] < 1:
        raise ConfigError("BACKUP_KEEP must keep at least 1 backup")
    if settings["ALERT_INTERVAL"] < 0:
        raise ConfigError("ALERT_INTERVAL must be 0 (no alerts) or a number of seconds")
    if settings["ALERT_DELIVERY_TIMEOUT"] < 1:
        raise ConfigError("ALERT_DELIVERY_TIMEOUT must be at least 1 second")
    return settings


def _coerce(name: str, raw: str, default):
    """Turn an environment string into the default's type."""
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{ENV_PREFIX}{name} must be an integer, not {raw!r}") from None
    return raw
