"""Trouble logged once per change of state, with short one-line reasons."""

import logging

import pytest
import requests

from kubewatch_agent.outages import OutageLog, one_line
from live_server import free_port


def test_a_failure_is_logged_once_until_its_reason_changes_or_it_recovers(caplog):
    caplog.set_level(logging.INFO, logger="kubewatch_agent")
    outages = OutageLog()
    for _ in range(3):
        outages.failed("docker", "cannot reach the Docker Engine")
    outages.failed("docker", "cannot read containers")
    assert outages.recovered("docker") is True
    assert outages.recovered("docker") is False
    assert [record.getMessage() for record in caplog.records] == [
        "docker: cannot reach the Docker Engine", "docker: cannot read containers", "docker: working again"]


def test_a_refused_connection_is_reduced_to_the_os_reason():
    with pytest.raises(requests.ConnectionError) as raised:
        requests.get(f"http://127.0.0.1:{free_port()}", timeout=2)
    assert one_line(raised.value) == "Connection refused"


@pytest.mark.parametrize("error, reason", [
    (FileNotFoundError(2, "No such file or directory"), "No such file or directory"),
    (Exception("Error while fetching server API version: ('Connection aborted.', "
               "FileNotFoundError(2, 'No such file or directory'))"), "No such file or directory"),
    (Exception("line one\nline two."), "line one line two"),
    (Exception(""), "Exception"),
    (Exception("x" * 500), "x" * 200 + "..."),
])
def test_reasons_are_short_single_lines(error, reason):
    assert one_line(error) == reason
