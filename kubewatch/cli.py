"""flask commands: serve, create-user, create-api-key and version (init-db lives with the database)."""

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

import kubewatch
from kubewatch.accounts import add_api_key, add_user
from kubewatch.credentials import normalize_email
from kubewatch.db import SCHEMA_VERSION
from kubewatch.repository import account_rows, health


@click.command("serve")
@with_appcontext
def serve_command():
    """Serve the API with waitress on the configured host and port, as `python app.py` does."""
    from kubewatch.config import ConfigError
    from kubewatch.server import serve

    try:
        serve(current_app._get_current_object())
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@click.command("create-user")
@click.argument("email")
@click.option("--org", "org_name", required=True, help="An existing organization (or a new one with --create-org).")
@click.option("--create-org", is_flag=True, help="Create the organization when there is none of that name.")
@click.option("--role", type=click.Choice(["admin", "viewer"]), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(email, org_name, role, password_stdin, create_org):
    """Create a user in an organization."""
    if not create_org and account_rows.org_by_name(org_name) is None:
        raise click.ClickException(unknown_org(org_name) + " Add --create-org to create it.")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        add_user(email, password, org_name, role)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    except account_rows.EmailTaken:
        raise click.ClickException(f"A user with email {normalize_email(email)} already exists.") from None
    click.echo(f"Created {role} {normalize_email(email)} in organization {org_name}.")


@click.command("create-api-key")
@click.option("--org", "org_name", required=True, help="An existing organization.")
@click.option("--name", "label", default="", help="A label to tell the key apart.")
@click.option("--scope", type=click.Choice(["ingest", "read"]), default="ingest", show_default=True,
              help="ingest registers agents; read scrapes /metrics and reads, and changes nothing.")
@with_appcontext
def create_api_key_command(org_name, label, scope):
    """Create an API key and print it; it is not shown again."""
    org_id = account_rows.org_by_name(org_name)
    if org_id is None:
        raise click.ClickException(unknown_org(org_name))
    click.echo(add_api_key(org_id, label, scope)["key"])


@click.command("version")
@with_appcontext
def version_command():
    """Print the release, the schema version it writes and the one the database is at."""
    click.echo(f"kubewatch {kubewatch.__version__}, schema version {SCHEMA_VERSION} "
               f"(database at {health.ping()})")


def unknown_org(name):
    """Return the message for an organization that does not exist, naming those that do."""
    known = account_rows.org_names()
    listed = ", ".join(known) if known else "none yet"
    return f"There is no organization {name}; the organizations are: {listed}."


def init_app(app):
    """Add serve, the account commands and `flask version` to the flask CLI (and so to the kubewatch command)."""
    app.cli.add_command(serve_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_api_key_command)
    app.cli.add_command(version_command)
