"""Several real server processes on one PostgreSQL database agree on what they list and who may push."""

import random
import time

import pytest
import requests

from live_server import LiveServer
import engines

pytestmark = engines.postgresql_only("several server processes on one database; a second one on a SQLite file is refused (test_sqlite_owner.py)")
ADMIN = {"email": "ops@example.com", "password": "a long admin password"}


def stamp(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def start_servers(tmp_path, url, count, **settings):
    """Start count servers on the database at url, one after the other; return them."""
    settings = {"DATABASE_URL": url, "ADMIN_EMAIL": ADMIN["email"], "ADMIN_PASSWORD": ADMIN["password"],
                "ROLLUP_INTERVAL": 0, "ALERT_INTERVAL": 0, **settings}
    servers = []
    try:
        for number in range(count):
            servers.append(LiveServer(tmp_path / f"server{number}", **settings).start())
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


@pytest.fixture
def two_servers(tmp_path, postgres_url):
    servers = start_servers(tmp_path, postgres_url, 2)
    yield servers
    for server in servers:
        server.stop()


def register(server, key, name="prod-web"):
    answer = requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": key},
                           json={"name": name, "hostname": name + "-01"})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def push(server, agent, ts, containers):
    return requests.post(f"{server.url}/api/v1/agents/{agent['agentId']}/push",
                         headers={"Authorization": f"Bearer {agent['token']}"},
                         json={"timestamp": stamp(ts), "containers": containers})


def signed_in(server):
    token = requests.post(server.url + "/api/v1/auth/login", json=ADMIN).json()["token"]
    return {"Authorization": "Bearer " + token}


def test_a_push_through_one_server_is_what_the_other_lists_next(two_servers):
    one, two = two_servers
    agent = register(one, one.first_run_key())
    user = signed_in(one)
    start = int(time.time()) - 300
    wrong = []
    randomly = random.Random(18)
    for check in range(300):
        through = randomly.choice(two_servers)
        status = randomly.choice(("running", "exited"))
        answer = push(through, agent, start + check, [{"id": "c0", "name": "c0", "status": status}])
        assert answer.status_code == 200, answer.text
        listing = two if through is one else one
        listed = requests.get(f"{listing.url}/api/v1/agents/{agent['agentId']}/containers", headers=user)
        assert listed.status_code == 200, listed.text
        if listed.json()[0]["status"] != status:
            wrong.append(check)
    assert wrong == []


def test_a_key_revoked_through_one_server_stops_the_next_push_through_the_other(two_servers):
    one, two = two_servers
    agent = register(one, one.first_run_key())
    now = int(time.time())
    assert push(two, agent, now - 2, []).status_code == 200
    user = signed_in(one)
    key_id = requests.get(one.url + "/api/v1/api-keys", headers=user).json()[0]["id"]
    assert requests.delete(f"{one.url}/api/v1/api-keys/{key_id}", headers=user).status_code == 204
    refused = push(two, agent, now - 1, [])
    assert refused.status_code == 401 and "register again" in refused.json()["message"]
    again = requests.post(two.url + "/api/v1/agents/register", headers={"X-API-Key": one.first_run_key()},
                          json={"name": "prod-web", "hostname": "prod-web-01"})
    assert again.status_code == 401


def test_an_agent_deleted_through_one_server_is_gone_on_the_other_at_once(two_servers):
    one, two = two_servers
    agent = register(one, one.first_run_key())
    now = int(time.time())
    running = [{"id": "c0", "name": "c0", "status": "running"}]
    assert push(two, agent, now - 2, running).status_code == 200  # two remembers the agent's objects
    user = signed_in(one)
    assert requests.delete(f"{one.url}/api/v1/agents/{agent['agentId']}", headers=user).status_code == 204
    refused = push(two, agent, now - 1, running)
    assert refused.status_code == 401 and "register again" in refused.json()["message"]
    listed = requests.get(f"{two.url}/api/v1/agents/{agent['agentId']}/containers", headers=signed_in(two))
    assert listed.status_code == 404
    assert requests.get(two.url + "/api/v1/agents", headers=user).json() == []


def test_failed_sign_ins_through_every_server_add_up(two_servers):
    one, two = two_servers
    wrong = {"email": ADMIN["email"], "password": "not the password"}
    answers = [requests.post(server.url + "/api/v1/auth/login", json=wrong).status_code
               for _ in range(10) for server in (one, two)]
    # AUTH_FAILURE_LIMIT (10) failures in all, five through each: counted per process, each would allow ten
    assert answers == [401] * 10 + [429] * 10
