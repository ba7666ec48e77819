"""One serving process per SQLite file: a second server started on the same file is refused.

Two server processes on one SQLite file each keep their own view of what an agent's objects look
like, so their answers drift apart; several processes need PostgreSQL. The claim is an exclusive
lock (flock) on a file beside the database, which the kernel releases when the process ends, even
on SIGKILL, so a crashed server never blocks the next start. Commands (backup, create-user, prune)
do not claim it: they may run beside the server.
"""

import os
from pathlib import Path

from kubewatch.config import ConfigError
from kubewatch.db import db

try:
    import fcntl
except ImportError:  # no flock on this system: the claim is not checked there
    fcntl = None


def claim(app):
    """Hold the serving claim on app's SQLite file for the rest of the process; do nothing for other engines.

    Raises ConfigError naming the file and the process serving it when another server holds it.
    """
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" or fcntl is None:
        return
    database = Path(url.database).resolve()
    handle = open(f"{database}.serving", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ConfigError(f"another kubewatch server (pid {holder}) is serving {database}: one SQLite file takes "
                          "one server process. Stop that one first, give this one its own database_url, or move "
                          "to PostgreSQL to run several processes on one database") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    app.extensions["kubewatch.sqlite_owner"] = handle  # kept open: closing it would give the claim up
