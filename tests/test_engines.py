"""DATABASE_URL: SQLite, or PostgreSQL through psycopg 3 alone; other drivers refused at start, saying why."""

import pytest

from conftest import TEST_CONFIG
from kubewatch import create_app
from kubewatch.config import ConfigError
from kubewatch.engines import database_url


@pytest.mark.parametrize("given, used", [
    ("sqlite:///kubewatch.db", "sqlite:///kubewatch.db"),
    ("sqlite+pysqlite://", "sqlite+pysqlite://"),
    ("postgresql://kubewatch:s3cret@db.lan:5433/kubewatch", "postgresql+psycopg://kubewatch:s3cret@db.lan:5433/kubewatch"),
    ("postgresql+psycopg://kubewatch@db.lan/kubewatch", "postgresql+psycopg://kubewatch@db.lan/kubewatch"),
])
def test_a_url_without_a_driver_takes_the_tested_one(given, used):
    assert database_url(given) == used


@pytest.mark.parametrize("url, says", [
    ("postgresql+psycopg2://kubewatch@db.lan/kubewatch", "names the 'psycopg2' driver for postgresql: kubewatch "
                                                        "runs on postgresql+psycopg:// alone"),
    ("postgresql+pg8000://kubewatch@db.lan/kubewatch", "names the 'pg8000' driver"),
    ("sqlite+aiosqlite:///kubewatch.db", "names the 'aiosqlite' driver for sqlite: kubewatch runs on "
                                         "sqlite+pysqlite:// alone"),
    ("mysql://kubewatch@db.lan/kubewatch", "names the 'mysql' engine: kubewatch runs on sqlite or postgresql"),
    ("kubewatch.db", "DATABASE_URL must be a URL like sqlite:///kubewatch.db"),
])
def test_other_engines_and_drivers_are_refused_at_start_saying_what_works(url, says):
    with pytest.raises(ConfigError) as refused:
        create_app(dict(TEST_CONFIG, DATABASE_URL=url))
    assert says in str(refused.value)
