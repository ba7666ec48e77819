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
    from kubewatch.db import SchemaTooNew
    try:
        return create_app()
    except (ConfigError, SchemaTooNew) as error:
        sys.exit(f"kubewatch: {error}")


# The commands are the app's own (app.cli): one a colleague adds to the flask CLI is here too.
main = FlaskGroup(name="kubewatch", create_app=load_app, load_dotenv=False, set_debug_flag=False,
                  help="The kubewatch server. Settings: KUBEWATCH_CONFIG, KUBEWATCH_INSTANCE_PATH and "
                       "KUBEWATCH_<NAME> variables (see config.example.toml).")


if __name__ == "__main__":
    main()
