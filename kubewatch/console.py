"""The `kubewatch` command: every flask command of the app (serve, init-db, create-user, ...) from any directory."""

import sys

import click
from flask.cli import FlaskGroup


def load_app():
    """Build the app as `python app.py` does; a setting that cannot work ends the command with one line."""
    try:
        from kubewatch import create_app
    except ImportError as error:  # the agent's install brings the server's modules but not Flask's friends
        sys.exit(f"kubewatch: the server needs {error.name!r}: pip install '.[server]' (or -r requirements.txt)")
    from kubewatch.config import ConfigError
    from kubewatch.db_setup import SchemaTooNew
    try:
        return create_app()
    except (ConfigError, SchemaTooNew) as error:
        sys.exit(f"kubewatch: {error}")


def print_version(ctx, _param, value):
    """Print the release and the schema version it writes, without building the app (no database needed)."""
    if not value or ctx.resilient_parsing:
        return
    from kubewatch import __version__
    from kubewatch.db import SCHEMA_VERSION
    click.echo(f"kubewatch {__version__}, schema version {SCHEMA_VERSION}")
    ctx.exit()


VERSION_OPTION = click.Option(["--version"], is_flag=True, expose_value=False, is_eager=True,
                              callback=print_version, help="Show kubewatch's version and schema version.")

# The commands are the app's own (app.cli): one a colleague adds to the flask CLI is here too.
# Flask's own --version would print Python's, Flask's and Werkzeug's versions instead of ours.
main = FlaskGroup(name="kubewatch", create_app=load_app, load_dotenv=False, set_debug_flag=False,
                  add_version_option=False, params=[VERSION_OPTION],
                  help="The kubewatch server. Settings: KUBEWATCH_CONFIG, KUBEWATCH_INSTANCE_PATH and "
                       "KUBEWATCH_<NAME> variables (see config.example.toml).")


if __name__ == "__main__":
    main()
