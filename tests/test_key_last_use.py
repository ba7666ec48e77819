"""An API key's last use: noted when it registers an agent or reads, to the minute, without a write on every use."""

import pytest
from sqlalchemy import event

from conftest import bearer
from kubewatch import accounts
from kubewatch.api.fields import EpochTime
from kubewatch.db import db

T0 = 1_790_000_000


@pytest.fixture
def clock(monkeypatch):
    now = [T0]
    monkeypatch.setattr(accounts.time, "time", lambda: now[0])
    return now


@pytest.fixture
def key_writes(app):
    """Count the statements that write an API key's row."""
    writes = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
            writes.append(statement)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", seen)
    yield writes
    with app.app_context():
        event.remove(db.engine, "before_cursor_execute", seen)


def listed(client, org):
    return {k["name"]: k for k in client.get("/api/v1/api-keys", headers=bearer(org.admin)).json}


def create(client, org, name, scope):
    answer = client.post("/api/v1/api-keys", json={"name": name, "scope": scope}, headers=bearer(org.admin))
    assert answer.status_code == 201
    assert answer.json["lastUsedAt"] is None
    return answer.json["key"]


def register(client, key):
    return client.post("/api/v1/agents/register", json={"name": "n", "hostname": "h"}, headers={"X-API-Key": key})


def test_registering_notes_the_ingest_keys_last_use_at_most_once_a_minute(client, org, clock, key_writes):
    key = create(client, org, "garage", "ingest")
    assert listed(client, org)["garage"]["lastUsedAt"] is None
    assert register(client, key).status_code == 200
    assert listed(client, org)["garage"]["lastUsedAt"] == EpochTime.format(T0)
    for seconds in (10, 30, 59):
        clock[0] = T0 + seconds
        assert register(client, key).status_code == 200
    assert len(key_writes) == 1
    assert listed(client, org)["garage"]["lastUsedAt"] == EpochTime.format(T0)
    clock[0] = T0 + 60
    assert register(client, key).status_code == 200
    assert len(key_writes) == 2
    assert listed(client, org)["garage"]["lastUsedAt"] == EpochTime.format(T0 + 60)
    assert listed(client, org)["test"]["lastUsedAt"] is None  # another key, never used


def test_a_read_key_scraped_every_15_seconds_for_five_minutes_is_written_five_times(client, org, clock, key_writes):
    key = create(client, org, "prometheus", "read")
    for scrape in range(20):
        clock[0] = T0 + 15 * scrape
        assert client.get("/metrics", headers=bearer(key)).status_code == 200
    assert len(key_writes) == 5
    assert listed(client, org)["prometheus"]["lastUsedAt"] == EpochTime.format(T0 + 240)
    clock[0] = T0 + 400
    assert client.get("/api/v1/agents", headers=bearer(key)).status_code == 200  # reading the API is a use too
    assert listed(client, org)["prometheus"]["lastUsedAt"] == EpochTime.format(T0 + 400)


def test_a_refused_use_and_an_agents_pushes_note_nothing(client, org, clock, key_writes):
    ingest = create(client, org, "ingest", "ingest")
    read = create(client, org, "read", "read")
    assert client.get("/api/v1/agents", headers=bearer(ingest)).status_code == 401  # not a credential for reading
    assert register(client, read).status_code == 403  # a read key registers nothing
    assert client.post("/api/v1/api-keys", json={}, headers=bearer(read)).status_code == 403
    agent = org.register()  # the fixture's own key: noted once
    key_writes.clear()
    for seconds in range(0, 300, 15):
        clock[0] = T0 + seconds
        assert org.push(agent).status_code == 200
    assert key_writes == []
    keys = listed(client, org)
    assert (keys["ingest"]["lastUsedAt"], keys["read"]["lastUsedAt"]) == (None, None)
    assert keys["test"]["lastUsedAt"] == EpochTime.format(T0)


def test_a_revoked_key_is_refused_and_its_last_use_stays(client, org, clock):
    key = create(client, org, "old", "ingest")
    assert register(client, key).status_code == 200
    key_id = listed(client, org)["old"]["id"]
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=bearer(org.admin)).status_code == 204
    clock[0] = T0 + 3600
    assert register(client, key).status_code == 401
    assert listed(client, org)["old"]["lastUsedAt"] == EpochTime.format(T0)
