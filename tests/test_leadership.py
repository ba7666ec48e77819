"""One server process leads at a time: always the one on SQLite, the advisory lock's holder on PostgreSQL."""

from conftest import TEST_CONFIG
from kubewatch import create_app, leadership
from kubewatch.db import db


def test_the_one_process_of_a_sqlite_database_always_leads():
    app = create_app(dict(TEST_CONFIG))
    assert leadership.of(app).holds() and leadership.of(app).term == 1
    with app.app_context():
        db.engine.dispose()
