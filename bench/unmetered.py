"""The server as `python app.py` serves it, but without the push meter: bench/push_meter.py's baseline."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app import app  # noqa: E402
from kubewatch.server import serve  # noqa: E402
from kubewatch.server_metrics import PushMeter  # noqa: E402

if __name__ == "__main__":
    assert isinstance(app.wsgi_app, PushMeter), "the factory no longer puts the meter outermost"
    app.wsgi_app = app.wsgi_app.wsgi_app  # the push shortcut and Flask, as they were before the meter
    serve(app)
