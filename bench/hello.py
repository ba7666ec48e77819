"""The baseline: a hello-world Flask app on the waitress settings `python app.py` uses."""

import sys
from pathlib import Path

from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kubewatch.config import load_settings  # noqa: E402
from kubewatch.server import configure_logging, run_waitress  # noqa: E402

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"


if __name__ == "__main__":
    settings = load_settings(Path(__file__).resolve().parent.parent)
    configure_logging(settings["LOG_LEVEL"])
    run_waitress(app, settings)
