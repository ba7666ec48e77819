"""The first push stored for a timestamp wins whole: a retry with other content changes nothing, logged once."""

import logging

import stored
from conftest import container, sample_push

TS = "2026-06-16T10:00:00Z"
THREE = [container("c1", "a"), container("c2", "b"), container("c3", "c")]


def state(org, query):
    return (org.agents().json[0]["containerCount"], query("SELECT COUNT(*) FROM containers")[0][0],
            stored.samples(query), query("SELECT runtime_id, name, status FROM containers ORDER BY key"))


def test_a_retry_with_other_content_changes_nothing(org, query, caplog):
    agent = org.register()
    assert org.push(agent, sample_push(TS, containers=THREE)).json == {"ok": True}
    first = state(org, query)
    assert first[0] == 3
    for retry in ([], [container("c1", "renamed", status="exited", cpuPercent=99.0)], THREE[:2] + [container("c9", "x")]):
        with caplog.at_level(logging.WARNING, "kubewatch"):
            assert org.push(agent, sample_push(TS, containers=retry)).json == {"ok": True}
        assert state(org, query) == first
    differed = [r for r in caplog.records if "other samples" in r.getMessage()]
    assert len(differed) == 1 and agent["agentId"] in differed[0].getMessage()


def test_a_retry_with_the_same_content_logs_nothing(org, query, caplog):
    agent = org.register()
    body = sample_push(TS, containers=THREE, nodes=[{"name": "n1", "cpuPercent": 1.5}],
                       pods=[{"name": "p", "namespace": "ns", "memoryMB": 3}])
    org.push(agent, body)
    with caplog.at_level(logging.WARNING, "kubewatch"):
        assert org.push(agent, body).json == {"ok": True}
    assert not [r for r in caplog.records if "other samples" in r.getMessage()]


def test_each_retried_timestamp_with_other_content_is_logged_once(org, caplog):
    agent = org.register()
    with caplog.at_level(logging.WARNING, "kubewatch"):
        for ts in (TS, "2026-06-16T10:00:15Z"):
            org.push(agent, sample_push(ts, containers=THREE))
            for _ in range(3):
                org.push(agent, sample_push(ts, containers=THREE[:1]))
    assert len([r for r in caplog.records if "other samples" in r.getMessage()]) == 2


def test_a_retry_still_marks_the_agent_seen_and_a_later_push_counts(org, query):
    agent = org.register()
    org.push(agent, sample_push(TS, containers=THREE))
    org.push(agent, sample_push(TS, containers=[]))
    assert org.agents().json[0]["status"] in ("connected", "disconnected")
    assert org.agents().json[0]["lastSeen"] is not None
    org.push(agent, sample_push("2026-06-16T10:00:15Z", containers=THREE[:1]))
    assert org.agents().json[0]["containerCount"] == 1


def test_an_older_push_replayed_late_keeps_the_newest_counts(org):
    agent = org.register()
    org.push(agent, sample_push("2026-06-16T10:00:15Z", containers=THREE[:1]))
    org.push(agent, sample_push(TS, containers=THREE))
    assert org.agents().json[0]["containerCount"] == 1
