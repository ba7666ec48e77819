"""Values from requests are escaped before they are logged: one event is always one line."""

import logging

import pytest
import requests

from conftest import PASSWORD
from kubewatch import logsafe
from live_server import LiveServer


@pytest.mark.parametrize("value, shown", [
    ("plain name", "plain name"),
    ("evil\n2026-01-01 INFO kubewatch: admin logged in", "evil\\n2026-01-01 INFO kubewatch: admin logged in"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("a\rb\tc\x00d\x7fe\x85f", "a\\rb\\tc\\x00d\\x7fe\\x85f"),
    ("line\u2028sep", "line\\u2028sep"),
    ("ünïcödé ☃", "ünïcödé ☃"),
    (None, "None"),
    ("x" * 1000, "x" * 200 + "...(1000 characters)"),
])
def test_a_value_is_escaped_and_cut(value, shown):
    assert logsafe.shown(value) == shown


def test_the_formatter_keeps_a_traceback_on_one_line():
    formatter = logsafe.OneLineFormatter("%(message)s")
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logging.LogRecord("kubewatch", logging.ERROR, __file__, 1, "failed: %s", ("x\ny",), True)
        import sys
        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert "\n" not in line and "failed: x\\ny" in line and "ValueError: bad\\nthing" in line


def test_forged_lines_never_reach_the_server_log(db_engine, tmp_path):
    server = LiveServer(tmp_path, ADMIN_EMAIL="ops@example.com", ADMIN_PASSWORD=PASSWORD).start()
    forged = "2026-06-16 10:00:00,000 INFO kubewatch.auth: login succeeded for ops@example.com"
    try:
        key = server.first_run_key()
        requests.post(server.url + "/api/v1/auth/login", json={"email": f"x@y.z\n{forged}", "password": "no"})
        requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": key},
                      json={"name": f"web\x1b[2J\x1b[H\n{forged}", "hostname": "h\r" + "y" * 250, "version": "1\n2"})
        requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": "kw_live_wrong"},
                      json={"name": "a", "hostname": "b"})
    finally:
        server.stop()
    log = server.output()
    assert "\x1b" not in log and "\r" not in log
    assert not [line for line in log.splitlines() if line.startswith(forged[:23]) or line == forged]
    registered = [line for line in log.splitlines() if "registered:" in line]
    assert len(registered) == 1 and "web\\x1b[2J\\x1b[H\\n2026" in registered[0]
    assert "y" * 201 not in registered[0] and "(252 characters)" in registered[0]
    failed = [line for line in log.splitlines() if "login failed" in line]
    assert len(failed) == 1 and "x@y.z\\n2026" in failed[0]
