"""PostgreSQL as a first-class engine: servers starting at once, values read back as stored, no
statement values in logged errors. The round trips and the logs run on both engines."""

import logging
import sys
import threading

import pytest
import requests
from sqlalchemy import text

import engines
from conftest import TEST_CONFIG, bearer, container, sample_push
from kubewatch import create_app, packing
from kubewatch.db import db, driver, write
from kubewatch.kinds import KINDS
from kubewatch.logsafe import DETAIL_LEFT_OUT, OneLineFormatter
from live_server import LiveServer
from polling import wait_until

BIG = 2**63 - 1  # the largest integer a BIGINT holds, and the API takes
NAME = "nginx-ünïcødé-✓-日本-😀"


@pytest.mark.slow  # five times three servers started at once: about half a minute
@engines.postgresql_only("servers starting at once on one database; a second one on a SQLite file is refused")
@pytest.mark.parametrize("trial", range(5))
def test_three_servers_started_at_once_on_an_empty_database_all_come_up_and_one_makes_the_admin(db_engine, tmp_path, trial):
    url = engines.fresh_url(schema=False)
    servers = [LiveServer(tmp_path / f"server-{i}", database_url=url, ADMIN_PASSWORD="a long admin password",
                          ROLLUP_INTERVAL=0, ALERT_INTERVAL=0) for i in range(3)]
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_up()
        wait_until(lambda: engines.rows(url, "SELECT COUNT(*) FROM users") == [(1,)], "the first admin", 20)
        for server in servers:
            assert server.process.poll() is None, server.output()
            assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
        banners = [server.output().count("kubewatch first start") for server in servers]
        assert sorted(banners) == [0, 0, 1], [server.output() for server in servers]
        assert engines.rows(url, "SELECT version FROM schema_version") == [(engines.schema_version(),)]
        assert engines.rows(url, "SELECT COUNT(*) FROM organizations") == [(1,)]
    finally:
        for server in servers:
            server.stop()


def test_booleans_big_integers_floats_and_unicode_text_read_back_exactly(client, org):
    agent = org.register(name=NAME, hostname="hôte-01")
    pods = [{"name": NAME, "namespace": "défaut", "ready": True, "containerCount": BIG, "readyContainers": 0,
             "cpuPercent": 7.5, "memoryMB": 64},
            {"name": "p2", "namespace": "défaut", "ready": False, "containerCount": 0},
            {"name": "p3", "namespace": "défaut", "ready": None}]
    containers = [container("c1", NAME, image="registry/ïmage:✓", cpuPercent=12.25, memoryMB=0.5,
                            memoryLimitMB=1.7976931348623157e308,
                            networkRxBytes=2**53 + 1, restartCount=2**31, oomKilled=True, exitCode=-(2**31))]
    assert org.push(agent, sample_push(containers=containers, pods=pods)).status_code == 200
    headers = bearer(org.viewer)
    base = f"/api/v1/agents/{agent['agentId']}"
    listed = client.get(base, headers=headers).json
    assert (listed["name"], listed["hostname"]) == (NAME, "hôte-01")
    [got] = client.get(base + "/containers", headers=headers).json
    assert (got["name"], got["image"], got["cpuPercent"], got["memoryMB"], got["memoryLimitMB"]) == (
        NAME, "registry/ïmage:✓", 12.25, 0.5, 1.7976931348623157e308)  # the API rounds: exact floats below
    assert (got["networkRxBytes"], got["restartCount"], got["oomKilled"], got["exitCode"]) == (2**53 + 1, 2**31, True, -(2**31))
    got = {p["name"]: p for p in client.get(base + "/pods", headers=headers).json}
    assert (got[NAME]["ready"], got["p2"]["ready"], got["p3"]["ready"]) == (True, False, None)
    assert (got[NAME]["containerCount"], got[NAME]["cpuPercent"], got[NAME]["memoryMB"]) == (BIG, 7.5, 64)


@pytest.mark.parametrize("value", [1 / 3, 0.1 + 0.2, 1e-300, 5e-324, 1.7976931348623157e308, 123456789.123456789])
def test_a_stored_float_reads_back_bit_for_bit(app, org, query, value):
    agent = org.register()
    with app.app_context(), write() as conn:
        conn.execute(text("INSERT INTO container_rollups (agent_id, key, step, bucket, samples, cpu_percent_avg, "
                          "cpu_percent_n, memory_mb_n, network_rx_bytes_n, network_tx_bytes_n) "
                          "VALUES (:agent, :big, 60, :low, 1, :value, 0, 0, 0, 0)"),
                     {"agent": agent["agentId"], "big": BIG, "low": -BIG - 1, "value": value})
    [(key, bucket, stored)] = query("SELECT key, bucket, cpu_percent_avg FROM container_rollups")
    assert (key, bucket) == (BIG, -BIG - 1)
    assert stored.hex() == value.hex()


def test_blobs_come_back_as_bytes_that_unpack_to_what_was_pushed(app, org, query):
    agent = org.register()
    assert org.push(agent, sample_push(containers=[container("c1", "web", cpuPercent=12.5, networkRxBytes=2**53 + 1)])).status_code == 200
    [(blob,)] = query("SELECT containers FROM pushes")
    assert type(blob) is bytes  # psycopg2 gave memoryview; psycopg 3 and sqlite3 give bytes
    [row] = packing.unpack(KINDS["containers"].metrics, blob).values()
    assert row[KINDS["containers"].measured.index("cpu_percent")] == 12.5
    assert row[KINDS["containers"].measured.index("network_rx_bytes")] == 2**53 + 1


def logged(error):
    """Return the line the server's log handler writes for an error logged with its traceback."""
    try:
        raise error
    except type(error):
        record = logging.LogRecord("kubewatch", logging.ERROR, __file__, 1, "unexpected error", (), sys.exc_info())
    return OneLineFormatter("%(levelname)s %(name)s: %(message)s").format(record)


@pytest.mark.parametrize("style", ["text", "driver"])
def test_no_statement_value_reaches_a_logged_database_error(app, org, style):
    secret = "a" * 64  # as an API key's SHA-256
    with app.app_context():
        with write() as conn:
            conn.execute(text("INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at) "
                              "VALUES ('key_1', :org, 'k', 'kw_live_x', :hash, 0)"), {"org": org.id, "hash": secret})
        with pytest.raises(Exception) as failed, write() as conn:
            if style == "text":
                conn.execute(text("INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at) "
                                  "VALUES ('key_2', :org, 'k', 'kw_live_x', :hash, 0)"), {"org": org.id, "hash": secret})
            else:
                driver(conn).execute("INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at) "
                                     "VALUES ('key_2', {0}, 'k', 'kw_live_x', {0}, 0)", (org.id, secret))
        db.engine.dispose()
    assert "UNIQUE" in str(failed.value).upper()  # the error still says what went wrong
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(failed.value) or style == "driver"
    line = logged(failed.value)
    assert secret not in line and org.id not in line
    if engines.on_postgresql():
        assert DETAIL_LEFT_OUT in line  # "Key (key_hash)=(...) already exists", in both errors' text


@engines.postgresql_only("DDL that locks a table other servers write to")
def test_a_server_starting_on_a_database_at_this_schema_locks_no_table_others_push_into(app):
    # A push holds a row lock on agents until it commits; CREATE INDEX IF NOT EXISTS would queue behind
    # it, and a server started beside others storing pushes once deadlocked with them so.
    with app.app_context():
        same_database = dict(TEST_CONFIG, DATABASE_URL=db.engine.url.render_as_string(hide_password=False))
    started = []
    starting = threading.Thread(target=lambda: started.append(create_app(same_database)))
    with app.app_context(), db.engine.connect() as pushing:
        pushing.execute(text("LOCK TABLE agents IN ROW EXCLUSIVE MODE"))
        starting.start()
        starting.join(10)
        done = not starting.is_alive()
        pushing.rollback()
    starting.join(10)
    assert done, "the start waited for the push's lock"
    with started[0].app_context():
        db.engine.dispose()
