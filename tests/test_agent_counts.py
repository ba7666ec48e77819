"""What the agent list says of each agent's containers: how many run, how many stopped after running, restarts."""

from conftest import container, sample_push


def listed(org):
    [agent] = org.agents().json
    return agent["containerCount"], agent["runningCount"], agent["stoppedCount"], agent["restartedAt"]


def push(org, agent, timestamp, containers):
    answer = org.push(agent, sample_push(timestamp, containers))
    assert answer.status_code == 200, answer.json


def test_an_agent_counts_the_running_containers_of_its_newest_push(org):
    agent = org.register()
    assert listed(org) == (0, 0, 0, None)
    push(org, agent, "2026-06-16T10:00:00Z", [container("a", "web"), container("b", "job", status="created")])
    assert listed(org) == (2, 1, 0, None)


def test_a_container_that_stops_after_running_is_counted_until_it_runs_again(org):
    agent = org.register()
    push(org, agent, "2026-06-16T10:00:00Z", [container("a", "web"), container("b", "once", status="exited")])
    assert listed(org)[2] == 0  # "once" was never seen running
    push(org, agent, "2026-06-16T10:00:15Z", [container("a", "web", status="exited"),
                                              container("b", "once", status="exited")])
    assert listed(org) == (2, 0, 1, None)
    push(org, agent, "2026-06-16T10:00:30Z", [container("a", "web", status="exited"),
                                              container("b", "once", status="exited")])
    assert listed(org)[2] == 1  # a steady push keeps the count
    push(org, agent, "2026-06-16T10:00:45Z", [container("a", "web"), container("b", "once", status="exited")])
    assert listed(org) == (2, 1, 0, None)
    push(org, agent, "2026-06-16T10:01:00Z", [container("a", "web", status="exited")])
    assert listed(org)[1:3] == (0, 1)
    push(org, agent, "2026-06-16T10:01:15Z", [])
    assert listed(org) == (0, 0, 0, None)


def test_a_rise_of_the_restart_counts_marks_the_push_it_came_in(org):
    agent = org.register()
    push(org, agent, "2026-06-16T10:00:00Z", [container("a", "web", restartCount=2)])
    assert listed(org)[3] is None  # the first push has nothing to rise from
    push(org, agent, "2026-06-16T10:00:15Z", [container("a", "web", restartCount=2)])
    assert listed(org)[3] is None
    push(org, agent, "2026-06-16T10:00:30Z", [container("a", "web", restartCount=3)])
    assert listed(org)[3] == "2026-06-16T10:00:30Z"
    push(org, agent, "2026-06-16T10:00:45Z", [container("a", "web", restartCount=3)])
    assert listed(org)[3] == "2026-06-16T10:00:30Z"


def test_a_late_push_changes_none_of_the_counts(org):
    agent = org.register()
    push(org, agent, "2026-06-16T10:00:00Z", [container("a", "web")])
    push(org, agent, "2026-06-16T10:00:30Z", [container("a", "web"), container("b", "db", restartCount=1)])
    before = listed(org)
    push(org, agent, "2026-06-16T10:00:15Z", [container("a", "web", status="exited", restartCount=9)])
    assert listed(org) == before
