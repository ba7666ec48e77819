"""Backups: `flask backup PATH` and the scheduled ones, checked copies of a database that restore exactly."""

import logging
import re
import sqlite3

import pytest
from sqlalchemy import text

from kubewatch import backup, create_app
from kubewatch.config import ConfigError, check, DEFAULTS
from kubewatch.db import db
from conftest import TEST_CONFIG, Org, bearer, sample_push
from engines import postgresql_only, sqlite_only


# `flask backup` copies SQLite files; on PostgreSQL it refuses, pointing at pg_dump (the test at the end).
@pytest.fixture
def file_app(tmp_path):
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{tmp_path / 'live.db'}"))
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


def reads(app, org, agent_id):
    """Return what a viewer reads: the agent list (status aside), the containers and a container's series."""
    client = app.test_client()
    headers = bearer(org.login(f"viewer@{org.name}.test"))
    listed = [{k: v for k, v in agent.items() if k != "status"}
              for agent in client.get("/api/v1/agents", headers=headers).json]
    base = f"/api/v1/agents/{agent_id}"
    containers = client.get(base + "/containers", headers=headers).json
    series = client.get(base + "/containers/a1b2c3d4e5f6/metrics?from=2026-06-16T09:00:00Z&to=2026-06-16T11:00:00Z",
                        headers=headers).json
    assert len(series["points"]) == 5
    return listed, containers, series


@sqlite_only("`flask backup` copies SQLite files")
def test_flask_backup_writes_a_checked_copy_that_restores_the_same_answers(file_app, tmp_path):
    org = Org(file_app, file_app.test_client(), "acme")
    agent = org.register()
    for minute in range(5):
        assert org.push(agent, sample_push(f"2026-06-16T10:0{minute}:00Z")).status_code == 200
    before = reads(file_app, org, agent["agentId"])
    result = file_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "copy.db")])
    assert result.exit_code == 0, result.output
    printed = re.fullmatch(rf"Backed up to {re.escape(str(tmp_path / 'copy.db'))}: (\d+\.\d) (kB|MB) in "
                           r"\d+\.\d\d s, integrity check ok.\n", result.output)
    assert printed, result.output
    size = float(printed.group(1)) * {"kB": 1e3, "MB": 1e6}[printed.group(2)]
    assert abs(size - (tmp_path / "copy.db").stat().st_size) <= 0.05 * {"kB": 1e3, "MB": 1e6}[printed.group(2)]
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy.close()
    assert not list(tmp_path.glob("copy.db*[!b]"))  # no -wal, -shm or .partial beside it

    restored = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{tmp_path / 'copy.db'}"))
    try:
        restored_org = Org.__new__(Org)
        restored_org.client, restored_org.name = restored.test_client(), "acme"
        assert reads(restored, restored_org, agent["agentId"]) == before
    finally:
        with restored.app_context():
            db.engine.dispose()


@sqlite_only("`flask backup` copies SQLite files")
def test_a_backup_never_overwrites_a_file(file_app, tmp_path):
    (tmp_path / "taken.db").write_text("precious")
    result = file_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "taken.db")])
    assert result.exit_code == 1 and "exists" in result.output
    assert (tmp_path / "taken.db").read_text() == "precious"


@sqlite_only("`flask backup` copies SQLite files")
def test_a_backup_into_a_missing_folder_fails_and_leaves_nothing(file_app, tmp_path):
    result = file_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "nowhere" / "copy.db")])
    assert result.exit_code == 1 and "could not copy" in result.output
    assert not (tmp_path / "nowhere").exists()


@sqlite_only("`flask backup` copies SQLite files")
def test_an_in_memory_database_has_no_file_to_back_up(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "copy.db")])
    assert result.exit_code == 1 and "in-memory" in result.output
    assert not (tmp_path / "copy.db").exists()


@sqlite_only("`flask backup` copies SQLite files")
def test_scheduled_backups_keep_the_newest_backup_keep(file_app):
    file_app.config["BACKUP_KEEP"] = 2
    made = [backup.scheduled_backup(file_app, 1_800_000_000 + day * 86400) for day in range(4)]
    kept = sorted(p.name for p in (made[0].path.parent).iterdir())
    assert kept == [made[2].path.name, made[3].path.name]
    assert kept[0] == "kubewatch-20270117T080000.000Z.db"


@sqlite_only("`flask backup` copies SQLite files")
def test_a_failed_scheduled_backup_is_logged_and_the_next_one_is_made(file_app, caplog, monkeypatch):
    file_app.config["BACKUP_INTERVAL"] = 0.05
    attempts = []
    real = backup.scheduled_backup

    def flaky(app, now):
        attempts.append(now)
        if len(attempts) == 1:
            raise backup.BackupError("disk full")
        return real(app, now)

    monkeypatch.setattr(backup, "scheduled_backup", flaky)
    with caplog.at_level(logging.INFO, logger="kubewatch.backup"):
        thread = backup.start_timer(file_app)
        try:
            while len(attempts) < 2 or not list((backup.Path(file_app.instance_path) / "backups").glob("*.db")):
                thread.join(0.05)
            assert thread.is_alive()
        finally:
            thread.stop.set()
            thread.join()
    assert "scheduled backup failed, will retry in 0.05 s: disk full" in caplog.text
    assert "backed up to " in caplog.text


@sqlite_only("`flask backup` copies SQLite files")
def test_no_backup_timer_without_backup_interval(file_app):
    assert backup.start_timer(file_app) is None


@pytest.mark.parametrize("setting", [{"BACKUP_INTERVAL": -1}, {"BACKUP_KEEP": 0}])
def test_backup_settings_that_cannot_work_are_refused(setting):
    with pytest.raises(ConfigError, match=next(iter(setting))):
        check({**DEFAULTS, **setting})


@sqlite_only("`flask backup` copies SQLite files")
def test_a_backup_is_a_moment_of_the_database_even_while_it_is_written(file_app, tmp_path):
    """The copy is one read transaction: a write committed while it runs is either wholly in it or not at all."""
    org = Org(file_app, file_app.test_client(), "acme")
    agent = org.register()
    org.push(agent, sample_push("2026-06-16T10:00:00Z"))
    with file_app.app_context():
        source = backup.sqlite_file()
    made = backup.backup(source, tmp_path / "copy.db")
    org.push(agent, sample_push("2026-06-16T10:01:00Z"))
    copy = sqlite3.connect(made.path)
    assert copy.execute("SELECT ts FROM pushes").fetchall() == [(1781604000,)]
    copy.close()
    with file_app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM pushes")).scalar() == 2


@postgresql_only("`flask backup` of a PostgreSQL database refuses: its own tools back it up")
def test_on_postgresql_flask_backup_refuses_and_names_its_own_tools(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "copy.db")])
    assert result.exit_code == 1
    assert "postgresql is backed up with its own tools: see the README (pg_dump and pg_restore for PostgreSQL)" in result.output
    assert not (tmp_path / "copy.db").exists()
