"""Serving the app with waitress, as `python app.py` does."""

import logging

import waitress

from kubewatch import rollups
from kubewatch.first_run import bootstrap


def serve(app):
    """Create the first admin when needed, start the rollup timer, then serve app on the configured host and port."""
    configure_logging(app.config["LOG_LEVEL"])
    bootstrap(app)
    rollups.start_timer(app)
    waitress.serve(app, **waitress_options(app.config))


def configure_logging(level):
    """Log one line per event to standard error, without waitress's per-request queue warnings."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # waitress warns once per queued request: under load, thousands of lines a second that cost
    # more than the requests. A queue is normal; its real errors are still logged.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def waitress_options(config):
    """Return waitress's settings from the app's config (the benchmark serves its baseline with them too)."""
    return {
        "host": config["HOST"], "port": config["PORT"], "threads": config["THREADS"],
        # Every agent keeps a connection open between pushes; waitress's default of 100 would
        # make the 101st agent wait for one of them to time out.
        "connection_limit": config["CONNECTION_LIMIT"],
        "channel_timeout": config["CHANNEL_TIMEOUT"],
        "ident": "kubewatch",
    }
