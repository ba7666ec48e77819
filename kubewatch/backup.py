"""Backups of the SQLite database while the server serves: `flask backup PATH`, and on a timer.

A backup is SQLite's online backup API copying every page in one step, so in one read
transaction: a consistent copy as of one moment, and with WAL, pushes keep being written
meanwhile (to the WAL, until the copy ends). The copy is written beside its destination, checked
with PRAGMA integrity_check, and only then renamed into place: a failed backup leaves no file
that looks like one.
"""

import logging
import os
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import click
from flask.cli import with_appcontext

from kubewatch.db import db

log = logging.getLogger("kubewatch.backup")
SCHEDULED_PREFIX = "kubewatch-"  # scheduled backups are instance/backups/kubewatch-<UTC time>.db


class BackupError(RuntimeError):
    """The backup could not be made; the message says why. Nothing is left at the destination."""


class Backup(NamedTuple):
    path: Path
    size: int  # bytes
    seconds: float


def sqlite_file():
    """Return the path of the app's SQLite database file; raise BackupError for any other database."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise BackupError(f"{url.get_backend_name()} is backed up with its own tools: see the README "
                          "(pg_dump and pg_restore for PostgreSQL)")
    if url.database in (None, "", ":memory:"):
        raise BackupError("an in-memory database has no file to back up")
    return Path(url.database)


def backup(source, destination):
    """Copy the SQLite database at source to destination, a new file; return a Backup.

    Raises BackupError when destination exists, when the copy fails, or when the copy
    fails PRAGMA integrity_check.
    """
    destination = Path(destination)
    if destination.exists():
        raise BackupError(f"{destination} exists: name a new file")
    partial = destination.with_name(destination.name + ".partial")
    started = time.monotonic()
    try:
        with _closing(sqlite3.connect(source)) as reading, _closing(sqlite3.connect(partial)) as copy:
            reading.execute("PRAGMA busy_timeout = 5000")
            reading.backup(copy)  # pages=-1: every page in one step, one read transaction
            problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"the copy failed its integrity check: {'; '.join(problems[:5])}")
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, destination)
    except sqlite3.Error as error:
        raise BackupError(f"SQLite could not copy {source} to {destination}: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Backup(destination, destination.stat().st_size, time.monotonic() - started)


class _closing:
    """Close a sqlite3 connection on exit (its own context manager only commits)."""

    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        return self.connection

    def __exit__(self, *exc):
        self.connection.close()


def scheduled_backup(app, now):
    """Write instance/backups/kubewatch-<UTC time, to the millisecond>.db and delete all but the newest BACKUP_KEEP; return the Backup."""
    folder = Path(app.instance_path) / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    moment = datetime.fromtimestamp(now, timezone.utc)
    stamp = moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}Z"
    with app.app_context():
        made = backup(sqlite_file(), folder / f"{SCHEDULED_PREFIX}{stamp}.db")
    kept = sorted(folder.glob(f"{SCHEDULED_PREFIX}*.db"))  # names sort by time
    for old in kept[:-app.config["BACKUP_KEEP"]]:
        old.unlink(missing_ok=True)
    return made


def start_timer(app):
    """Back up every BACKUP_INTERVAL seconds in a daemon thread; return the thread, or None when off.

    A failed backup is logged and tried again at the next interval; it never stops the server.
    Setting the thread's `stop` event ends it after the backup under way.
    """
    interval = app.config["BACKUP_INTERVAL"]
    if not interval:
        return None
    stop = threading.Event()

    def loop():
        while not stop.wait(interval):
            try:
                made = scheduled_backup(app, time.time())
            except Exception as error:  # the server goes on: the next interval tries again
                log.error("scheduled backup failed, will retry in %s s: %s", interval, error)
                continue
            log.info("backed up to %s: %s in %.1f s", made.path, _size(made.size), made.seconds)

    thread = threading.Thread(target=loop, name="kubewatch-backups", daemon=True)
    thread.stop = stop
    thread.start()
    return thread


def _size(size):
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(path):
    """Write a consistent copy of the SQLite database to PATH while the server keeps serving."""
    try:
        made = backup(sqlite_file(), path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backed up to {made.path}: {_size(made.size)} in {made.seconds:.2f} s, integrity check ok.")


def init_app(app):
    """Add `flask backup`."""
    app.cli.add_command(backup_command)
