"""Two installations pushing as one agent (two tokens of one agentId): detected, logged once, no sample of either lost."""

import logging
import time

from conftest import bearer, container
from kubewatch import rollup_job
from kubewatch.agent_watch import AgentWatch
from kubewatch.api.fields import EpochTime
from kubewatch.repository.pushes import Outcome
from stored import samples

NODE = {"name": "web-1", "cpuCores": 4, "cpuPercent": 12.5, "memoryMB": 1024, "memoryCapacityMB": 8192}


def body(ts, containers=(), nodes=()):
    return {"timestamp": EpochTime.format(ts), "containers": list(containers), "nodes": list(nodes), "pods": []}


def lines(caplog, agent, text):
    return [r.getMessage() for r in caplog.records if agent["agentId"] in r.getMessage() and text in r.getMessage()]


def pushed(org, agent, ts, **objects):
    response = org.push(agent, body(ts, **objects))
    assert response.status_code == 200 and response.json == {"ok": True}, response.json


def test_a_docker_and_a_host_agent_under_one_name_pushing_in_the_same_seconds_lose_nothing(org, query, caplog):
    """The issue's input: the second push of each second was acknowledged but taken for a retry."""
    docker, host = org.register(name="web-1", hostname="web-1"), org.register(name="web-1", hostname="web-1",
                                                                              platform="host")
    assert docker["agentId"] == host["agentId"] and docker["token"] != host["token"]
    start = int(time.time()) - 100
    with caplog.at_level(logging.WARNING, "kubewatch"):
        for second in range(6):
            pushed(org, docker, start + second, containers=[container("c1", "nginx", cpuPercent=10.0 + second)])
            pushed(org, host, start + second, nodes=[NODE])
    assert [(ts - start, values[0]) for ts, _, values in samples(query)] == [(s, 10.0 + s) for s in range(6)]
    assert len(samples(query, "nodes")) == 6
    assert len(lines(caplog, docker, "two installations")) == 1
    assert len(lines(caplog, docker, "pushed for the same second")) == 1
    agent = org.client.get(f"/api/v1/agents/{docker['agentId']}", headers=bearer(org.viewer)).json
    assert (agent["containerCount"], agent["nodeCount"], agent["runningCount"]) == (1, 1, 1)
    listed = org.client.get(f"/api/v1/agents/{docker['agentId']}/containers", headers=bearer(org.viewer)).json
    assert [c["id"] for c in listed] == ["c1"]
    window = {"from": EpochTime.format(start - 1), "to": EpochTime.format(start + 10)}
    for path in ("nodes/web-1", "containers/c1"):
        series = org.client.get(f"/api/v1/agents/{docker['agentId']}/{path}/metrics", query_string=window,
                                headers=bearer(org.viewer)).json
        assert len(series["points"]) == 6


def test_two_installs_pushing_the_same_seconds_in_either_order_keep_both(org, query):
    first, second = org.register(name="web-1", hostname="web-1"), org.register(name="web-1", hostname="web-1")
    start = int(time.time()) - 100
    for step in range(4):
        one, other = (first, second) if step % 2 else (second, first)
        pushed(org, one, start + step, containers=[container("a", "a")])
        pushed(org, other, start + step, containers=[container("b", "b")])
    assert sorted((ts - start, key) for ts, key, _ in samples(query)) == [(s, k) for s in range(4) for k in (1, 2)]


def test_tokens_of_two_registrations_taking_turns_are_logged_once(org, caplog):
    first, second = org.register(name="web-1", hostname="web-1"), org.register(name="web-1", hostname="web-1")
    start = int(time.time()) - 100
    with caplog.at_level(logging.WARNING, "kubewatch"):
        for step, agent in enumerate([first, second, first, second, first, second]):
            pushed(org, agent, start + step * 7, containers=[container("c1", "nginx")])
    [line] = lines(caplog, first, "two installations")
    assert "--name" in line and "instanceId" in line


def test_one_installation_moving_on_to_a_new_token_is_not_two(org, caplog):
    start = int(time.time()) - 100
    with caplog.at_level(logging.WARNING, "kubewatch"):
        for step in range(3):  # each registration, as after a token expired, then pushes with the new token
            agent = org.register(name="web-1", hostname="web-1")
            pushed(org, agent, start + step * 15, containers=[container("c1", "nginx")])
            pushed(org, agent, start + step * 15 + 5, containers=[container("c1", "nginx")])
    assert lines(caplog, agent, "two installations") == [] and lines(caplog, agent, "same second") == []


def test_a_retry_from_the_same_token_is_still_a_retry_and_the_first_push_wins_whole(org, query, caplog):
    first, second = org.register(name="web-1", hostname="web-1"), org.register(name="web-1", hostname="web-1")
    ts = int(time.time()) - 50
    with caplog.at_level(logging.WARNING, "kubewatch"):
        pushed(org, first, ts, containers=[container("c1", "nginx"), container("c2", "db")])
        pushed(org, first, ts, containers=[container("c1", "nginx"), container("c2", "db")])
        pushed(org, first, ts, containers=[container("c3", "other")])  # other content: still the first wins
    assert [key for _, key, _ in samples(query)] == [1, 2]
    assert query("SELECT COUNT(*) FROM pushes") == [(1,)]
    assert lines(caplog, first, "two installations") == [] and lines(caplog, first, "same second") == []
    assert len(lines(caplog, first, "other samples")) == 1
    pushed(org, second, ts, containers=[container("c3", "other")])  # another install's, though: kept
    assert [key for _, key, _ in samples(query)] == [1, 2, 3]


def test_two_installs_measuring_the_same_container_at_one_second_keep_the_first_sample_and_say_so(org, query, caplog):
    first, second = org.register(name="web-1", hostname="web-1"), org.register(name="web-1", hostname="web-1")
    ts = int(time.time()) - 50
    with caplog.at_level(logging.WARNING, "kubewatch"):
        pushed(org, first, ts, containers=[container("c1", "nginx", cpuPercent=10.0)])
        pushed(org, second, ts, containers=[container("c1", "nginx", cpuPercent=30.0), container("c2", "db")])
    assert [(key, values[0]) for _, key, values in samples(query)] == [(1, 10.0), (2, 12.4)]
    assert len(lines(caplog, first, "pushed for the same second")) == 1
    agent = org.client.get(f"/api/v1/agents/{first['agentId']}", headers=bearer(org.viewer)).json
    assert agent["containerCount"] == 2


def test_a_merged_push_already_rolled_up_is_rolled_up_again(app, org, query):
    first, second = org.register(name="web-1", hostname="web-1"), org.register(name="web-1", hostname="web-1")
    now = int(time.time())
    ts = now - now % 60 - 120
    pushed(org, first, ts, containers=[container("c1", "nginx")])
    with app.app_context():
        rollup_job.run(app.config, now)
    assert query("SELECT rolled_up FROM pushes") == [(1,)]
    pushed(org, second, ts, containers=[container("c2", "db")])
    assert query("SELECT rolled_up FROM pushes") == [(0,)]
    with app.app_context():
        rollup_job.run(app.config, now)
    assert query("SELECT key, cpu_percent_n FROM container_rollups WHERE step = 60 ORDER BY key") == [(1, 1), (2, 1)]


def test_the_watch_remembers_who_stored_each_push_for_its_seconds_not_for_a_count_of_pushes():
    """64 pushes of every agent were kept: about 100 MB at 10,000 agents pushing every 15 s."""
    watch, stored = AgentWatch(), Outcome(True, {}, False)
    for agent in range(3):
        for ts in range(1_000_000, 1_000_000 + 3600, 15):
            watch.pushed(f"agent_{agent}", ts, "registration-a", stored)
    newest = 1_000_000 + 3600 - 15
    kept = watch._stored_by["agent_0"]
    assert sorted(kept) == list(range(newest - 60, newest + 1, 15))  # the pushes of the last 64 s
    assert watch.stored_by_other("agent_0", newest - 60, "registration-b")  # another installation's push
    assert not watch.stored_by_other("agent_0", newest - 60, "registration-a")  # a retry
    assert not watch.stored_by_other("agent_0", newest - 75, "registration-b")  # older: not remembered
    watch.pushed("agent_0", newest - 600, "registration-a", stored)  # a late push from the backlog
    assert sorted(kept) == list(range(newest - 60, newest + 1, 15))
