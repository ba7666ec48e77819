"""The health check."""


def test_healthz_answers_ok_without_authentication(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})

