"""Serving the app with waitress, as `python app.py` does."""

import logging

import waitress

from kubewatch.first_run import bootstrap


def serve(app):
    """Create the first admin when needed, then serve app on the configured host and port."""
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # waitress warns once per queued request under load; a full queue is normal, not an error.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    bootstrap(app)
    config = app.config
    waitress.serve(app, host=config["HOST"], port=config["PORT"], threads=config["THREADS"],
                   ident="kubewatch")
