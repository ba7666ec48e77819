"""The two database engines: SQLite (files, the default) and PostgreSQL through psycopg 3 alone.

A PostgreSQL URL is written postgresql+psycopg://user:password@host:port/database; a plain
postgresql:// URL means the same driver. psycopg2 and the other drivers are refused at start:
psycopg2 hands binary columns back as memoryview, and none of them is tested.
"""

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from kubewatch.config import ConfigError

# The one driver per engine that kubewatch is tested with: {backend: driver}.
DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}


def database_url(url):
    """Return DATABASE_URL with its driver named (postgresql:// becomes postgresql+psycopg://).

    Raises ConfigError for a URL that is not one, an engine other than SQLite or PostgreSQL, or a
    driver other than the tested one.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL must be a URL like sqlite:///kubewatch.db or "
                          f"postgresql+psycopg://user@host/database, not {url!r}") from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend not in DRIVERS:
        raise ConfigError(f"DATABASE_URL names the {backend!r} engine: kubewatch runs on sqlite or "
                          f"postgresql (postgresql+psycopg://user@host/database)")
    if "+" not in parsed.drivername:
        if backend == "sqlite":
            return url  # pysqlite is SQLAlchemy's default for it
        return parsed.set(drivername=f"{backend}+{DRIVERS[backend]}").render_as_string(hide_password=False)
    if driver != DRIVERS[backend]:
        hint = " (pip install -r requirements-postgresql.txt, or the server's postgresql extra)" if backend == "postgresql" else ""
        raise ConfigError(f"DATABASE_URL names the {driver!r} driver for {backend}: kubewatch runs on "
                          f"{backend}+{DRIVERS[backend]}:// alone{hint}")
    return url


# Statement parameters never appear in an error's text: they may be secrets (an API key's hash,
# a password hash), and errors are logged.
ENGINE_OPTIONS = {"hide_parameters": True}
