"""The health check: the release and the schema version, without authentication."""

import kubewatch
import kubewatch_agent
from kubewatch.db import SCHEMA_VERSION


def test_healthz_answers_ok_the_release_and_the_schema_version_without_authentication(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (
        200, {"status": "ok", "version": kubewatch.__version__, "schemaVersion": SCHEMA_VERSION})


def test_server_and_agent_carry_one_release_number():
    assert kubewatch.__version__ == kubewatch_agent.__version__


def test_flask_version_prints_the_release_and_both_schema_versions(runner):
    result = runner.invoke(args=["version"])
    assert result.exit_code == 0, result.output
    assert result.output == (f"kubewatch {kubewatch.__version__}, schema version {SCHEMA_VERSION} "
                             f"(database at {SCHEMA_VERSION})\n")
