"""The kubewatch server: `python app.py` serves it; `flask` commands find it here."""

import sys

if __name__ == "__main__" and sys.argv[1:] == ["--version"]:
    from kubewatch import __version__
    from kubewatch.db import SCHEMA_VERSION

    sys.exit(print(f"kubewatch {__version__}, schema version {SCHEMA_VERSION}"))

from kubewatch import create_app
from kubewatch.config import ConfigError
from kubewatch.db_setup import SchemaTooNew

try:
    app = create_app()
except (ConfigError, SchemaTooNew) as error:
    sys.exit(f"kubewatch: {error}")

if __name__ == "__main__":
    from kubewatch.server import serve

    try:
        serve(app)
    except ConfigError as error:
        sys.exit(f"kubewatch: {error}")
