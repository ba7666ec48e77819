"""kubewatch: a self-hosted monitor for containers and Kubernetes."""

import logging
from pathlib import Path

from flask import Flask

from kubewatch import (agent_watch, alerting, api, backup, cli, db_setup, decompression, engines, hashing, leadership,
                       nul_text, proxy, push_limits, push_shortcut, revocations, rollup_job, server_metrics, web)
from kubewatch.api import errors
from kubewatch.api.fast_json import FastJSON
from kubewatch.config import DEFAULTS, instance_path, load_settings
from kubewatch.instance_secret import secret_key

__version__ = "0.1.0"  # the release; the agent (kubewatch_agent) carries the same number

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Run from a checkout (app.py beside the package), config.toml is looked for beside app.py first.
CHECKOUT = PROJECT_ROOT if (PROJECT_ROOT / "app.py").exists() else None
API_SETTINGS = {"API_TITLE": "kubewatch", "API_VERSION": "v1", "OPENAPI_VERSION": "3.0.3"}


def create_app(test_config=None):
    """Build the application: settings, database, API blueprints, the dashboard and CLI commands.

    Without test_config, settings come from defaults, the TOML file and KUBEWATCH_* variables;
    with it, from defaults and test_config alone. The instance folder (secret key, a relative
    SQLite path, config.toml) is KUBEWATCH_INSTANCE_PATH, else instance/ of the checkout, else
    <prefix>/var/kubewatch-instance for a pip-installed server: never the working directory.
    """
    # The dashboard blueprint serves /static; the package has no app-wide static folder.
    app = Flask(__name__, instance_path=instance_path(), static_folder=None)
    app.config.from_mapping(DEFAULTS, **API_SETTINGS)
    sources = app.extensions["kubewatch.sources"] = {}
    if test_config is None:
        folders = [CHECKOUT, Path(app.instance_path)] if CHECKOUT else [Path(app.instance_path)]
        app.config.update(load_settings(folders, sources))
    else:
        app.config.update(test_config)
        sources.update(dict.fromkeys(test_config, "the test configuration"))
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = secret_key(Path(app.instance_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = engines.database_url(app.config["DATABASE_URL"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(engines.ENGINE_OPTIONS)
    app.json = FastJSON(app)
    app.json.sort_keys = False  # keep the documented field order
    logging.getLogger("kubewatch").setLevel(app.config["LOG_LEVEL"])

    db_setup.init_app(app)
    leadership.init_app(app)
    errors.init_app(app)
    revocations.init_app(app)
    hashing.init_app(app)
    push_limits.init_app(app)
    agent_watch.init_app(app)
    api.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    rollup_job.init_app(app)
    backup.init_app(app)
    alerting.init_app(app)
    push_shortcut.init_app(app)  # after the hooks: it checks the ones registered before it
    nul_text.init_app(app)  # in front of the shortcut: a push with a NUL goes no further
    decompression.init_app(app)  # in front of the shortcut and the NUL check: compressed pushes take it too
    server_metrics.init_app(app)  # outside the shortcut, to count and time every push
    proxy.init_app(app)  # outermost, so the shortcut and Flask both see the public client and path
    return app
