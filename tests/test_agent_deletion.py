"""Deleting an agent works in bounded chunks: a big agent is deleted while another agent pushes, with few rows
per hold of the writer lock; nothing of it is left, nothing of the other agent is touched."""

import threading
import time

import pytest

from conftest import TEST_CONFIG, Org, bearer, container, sample_push
from held_lock import HeldLock
from engines import file_url, rows
from kubewatch import create_app, db as db_module, rollup_job
from kubewatch.db import db
from kubewatch.kinds import KINDS
from kubewatch.repository import agent_deletion

SMALL = {"DELETE_PUSHES": 10, "DELETE_ROWS": 300}
CONTAINERS = 400
PUSHES = 150
HOUR = 3600
TABLES = ["pushes"] + [kind.rollups for kind in KINDS.values()] + [kind.table for kind in KINDS.values()] + [
    "watched_containers", "alerts", "silences", "alert_rules", "agents"]


def stamp(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def all_rows(url, agent_id):
    """Every row of the agent, table by table."""
    return {table: rows(url, f"SELECT * FROM {table} WHERE {'id' if table == 'agents' else 'agent_id'} = :id "
                             "ORDER BY 1, 2, 3", id=agent_id) for table in TABLES}


def row_count(url, agent_id):
    return sum(len(found) for found in all_rows(url, agent_id).values())


@pytest.fixture
def two_agents(db_engine, tmp_path):
    """A database where one agent has PUSHES pushes of CONTAINERS containers, rolled up, and another a few pushes."""
    url = file_url(tmp_path / "big.db")
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=url))
    org = Org(app, app.test_client(), "acme")
    big, other = org.register(name="big"), org.register(name="small")
    now = int(time.time())
    first = now - 2 * HOUR - (now - 2 * HOUR) % HOUR - 30
    for i in range(PUSHES):
        body = sample_push(stamp(first + i), [container(f"c{n:05d}", f"app-{n}", cpuPercent=(n + i) % 97,
                                                        memoryMB=100 + n % 13) for n in range(CONTAINERS)])
        assert org.push(big, body).status_code == 200
    for i in range(5):
        assert org.push(other, sample_push(stamp(first + i))).status_code == 200
    with app.app_context():
        assert rollup_job.run(app.config, now).rolled_up == PUSHES + 5
    yield app, org, big, other, url, now
    with app.app_context():
        db.engine.dispose()


def test_a_big_agent_is_deleted_in_small_writes_while_another_agent_pushes(two_agents, monkeypatch):
    app, org, big, other, url, now = two_agents
    for name, value in SMALL.items():
        monkeypatch.setattr(agent_deletion, name, value)
    lock = HeldLock(db_module._writer, "delete-under-test", lambda: row_count(url, big["agentId"]))
    monkeypatch.setattr(db_module, "_writer", lock)
    counted = {table: len(found) for table, found in all_rows(url, big["agentId"]).items()}
    others_before = all_rows(url, other["agentId"])
    admin = org.admin
    answers, pushed = [], []

    def delete():
        answer = org.client.delete(f"/api/v1/agents/{big['agentId']}", headers=bearer(admin))
        answers.append((answer.status_code, answer.data))

    job = threading.Thread(target=delete, name="delete-under-test")
    job.start()
    while job.is_alive():  # the other agent pushes all along
        pushed.append(org.push(other, sample_push(stamp(now - 600 + len(pushed)))).status_code)
    job.join()

    assert answers == [(204, b"")] and set(pushed) == {200}
    assert counted["pushes"] == PUSHES and counted["containers"] == CONTAINERS
    assert counted["container_rollups"] == CONTAINERS * (3 + 2)
    assert not any(all_rows(url, big["agentId"]).values())  # nothing of it is left
    others_after = all_rows(url, other["agentId"])
    assert others_after["pushes"][:5] == others_before["pushes"][:5] and len(others_after["pushes"]) == 5 + len(pushed)
    assert all(others_after[table] == others_before[table] for table in TABLES if table not in ("pushes", "agents"))
    rows_per_hold = [deleted for deleted, _ in lock.holds]
    assert sum(rows_per_hold) == sum(counted.values())
    # Every hold deleted at most DELETE_PUSHES pushes (each a whole push) or DELETE_ROWS rows, and the last
    # the agent's row with its few others; there were many.
    assert len(lock.holds) >= PUSHES // SMALL["DELETE_PUSHES"] + CONTAINERS * (5 + 1) // SMALL["DELETE_ROWS"]
    assert max(rows_per_hold) <= SMALL["DELETE_ROWS"]
    print(f"\ndelete of {PUSHES} pushes and {CONTAINERS} containers' rollups: {len(lock.holds)} writer-lock holds, "
          f"at most {max(rows_per_hold)} rows and {max(s for _, s in lock.holds) * 1000:.1f} ms each; "
          f"{len(pushed)} pushes of another agent meanwhile")


def test_the_deleted_agent_is_gone_from_the_api_and_its_token_stops(two_agents):
    app, org, big, other, url, _ = two_agents
    path = f"/api/v1/agents/{big['agentId']}"
    answer = org.client.delete(path, headers=bearer(org.admin))
    assert answer.status_code == 204 and answer.data == b""
    assert [agent["id"] for agent in org.agents().json] == [other["agentId"]]
    assert org.client.get(path, headers=bearer(org.viewer)).status_code == 404
    assert org.client.get(path + "/containers", headers=bearer(org.viewer)).status_code == 404
    assert org.push(big).status_code == 401
    assert org.client.delete(path, headers=bearer(org.admin)).status_code == 404


def test_an_agent_of_another_organization_is_not_deleted(two_agents, monkeypatch):
    app, org, big, _, url, _ = two_agents
    stranger = Org(app, org.client, "globex")
    before = row_count(url, big["agentId"])
    answer = stranger.client.delete(f"/api/v1/agents/{big['agentId']}", headers=bearer(stranger.admin))
    assert answer.status_code == 404 and row_count(url, big["agentId"]) == before


def test_a_push_while_the_agent_is_deleted_leaves_nothing(two_agents, monkeypatch):
    app, org, big, _, url, now = two_agents
    for name, value in SMALL.items():
        monkeypatch.setattr(agent_deletion, name, value)
    state = {"pushed": []}

    def pause():  # between two chunks: the agent pushes new objects, and old ones again
        if len(state["pushed"]) < 3:
            n = len(state["pushed"])
            body = sample_push(stamp(now - 60 + n), [container(f"new{n}", "new"), container("c00001", "app-1")])
            state["pushed"].append(org.push(big, body).status_code)

    with app.app_context():
        assert agent_deletion.delete_agent(org.id, big["agentId"], pause=pause)
    assert state["pushed"] == [200, 200, 200]
    assert not any(all_rows(url, big["agentId"]).values())
