"""The first start: an organization, an admin and an ingest key, printed once."""

import click

from kubewatch import credentials, db_setup
from kubewatch.accounts import add_api_key, add_user
from kubewatch.config import ConfigError
from kubewatch.repository import account_rows


def bootstrap(app):
    """Create the first admin and API key when no user exists and print them; else do nothing.

    Returns True when it created them. Raises ConfigError for a configured password too short.
    """
    config = app.config
    with app.app_context(), db_setup.starting():  # another server starting at once waits, then finds the admin
        if account_rows.has_users():
            return False
        password = config["ADMIN_PASSWORD"] or credentials.new_password()
        try:
            org_id = add_user(config["ADMIN_EMAIL"], password, config["ORG_NAME"], "admin")
        except ValueError as error:
            raise ConfigError(f"KUBEWATCH_ADMIN_PASSWORD: {error}") from None
        key = add_api_key(org_id, "first key")["key"]
    # Behind a proxy the server cannot see its public address before a request: EXTERNAL_URL tells it.
    url = config["EXTERNAL_URL"].rstrip("/") or f"http://{_reachable(config['HOST'])}:{config['PORT']}"
    shown_password = "(the one you set in KUBEWATCH_ADMIN_PASSWORD)" if config["ADMIN_PASSWORD"] else password
    click.echo("\n".join([
        "",
        "=" * 72,
        "kubewatch first start: save these now, they are not shown again.",
        f"  organization  {config['ORG_NAME']}",
        f"  admin email   {config['ADMIN_EMAIL']}",
        f"  password      {shown_password}",
        f"  API key       {key}",
        "",
        *next_step(url, key),
        "=" * 72,
        "",
    ]))
    return True


def next_step(url, key):
    """Return the banner's lines that start an agent with key against the server at url, installed or in Docker."""
    return [
        "Next, start an agent with this key where the containers run (from another machine, put this",
        "machine's address in the URL). With the agent installed (pip install . in the checkout):",
        f"  KUBEWATCH_API_KEY={key} kubewatch-agent --url {url}",
        "or in Docker (docker build -f docker/agent.Dockerfile -t kubewatch-agent . in the checkout):",
        "  docker run -d --name kubewatch-agent --network host --group-add \"$(stat -c %g /var/run/docker.sock)\" \\",
        "    -v /var/run/docker.sock:/var/run/docker.sock:ro -v /etc/machine-id:/etc/machine-id:ro \\",
        f"    -e KUBEWATCH_URL={url} -e KUBEWATCH_API_KEY={key} kubewatch-agent",
    ]


def _reachable(host):
    """Return the host part of a URL that reaches a server listening on host."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":  # waitress listens there for IPv6 only
        return "[::1]"
    return f"[{host}]" if ":" in host else host
