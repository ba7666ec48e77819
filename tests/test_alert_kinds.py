"""Each kind of alert rule, walked through with pushes at chosen times: one fire and one resolve per alert,
delivered to a real HTTP receiver on loopback as a json:// channel."""

import time

import pytest

from alerting_world import Receiver, World
from conftest import container

T = int(time.time()) - 3600  # pushes are dated an hour ago and on; the evaluator runs at chosen times
STEP = 15


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture
def world(app, org, receiver):
    return World(app, org, receiver)


def fires_and_resolves(receiver, where):
    """Return the titles received, checking each is one FIRING or RESOLVED of `where`."""
    titles = receiver.titles()
    assert all(where in title for title in titles), titles
    return [title.split(":")[0].removeprefix("[kubewatch] ") for title in titles]


def node(name, **fields):
    return {"name": name, "status": "Ready", "cpuPercent": 10.0, "memoryMB": 1000.0, "memoryCapacityMB": 8000.0,
            "fsUsedBytes": 10, "fsCapacityBytes": 100, **fields}


def pod(name, **fields):
    return {"name": name, "namespace": "shop", "phase": "Running", "ready": True, "cpuPercent": 5.0,
            "memoryMB": 50.0, "memoryLimitMB": 100.0, **fields}


def test_a_stopped_container_fires_once_with_why_and_resolves_once_when_it_runs_again(world, receiver):
    world.rule(kind="container_stopped", name="stopped", channels=[world.channel()])
    world.push(T, [container("c1", "postgres-main"), container("c2", "cron", status="exited", exitCode=0)])
    assert world.evaluate(T).fired == 0  # cron was first seen stopped: no flood on a fresh install
    world.push(T + STEP, [container("c1", "postgres-main", status="exited", exitCode=137, oomKilled=True),
                          container("c2", "cron", status="exited", exitCode=0)])
    world.evaluate(T + STEP)
    world.evaluate(T + 2 * STEP)  # still stopped: nothing sent again
    [fired] = receiver.messages()
    assert fired["title"] == "[kubewatch] FIRING: stopped: postgres-main on prod-web"
    assert fired["message"].startswith("postgres-main exited with code 137 (killed: out of memory)\n")
    assert "Agent: prod-web" in fired["message"] and fired["type"] == "failure"
    world.push(T + 3 * STEP, [container("c1", "postgres-main"), container("c2", "cron", status="exited")])
    world.evaluate(T + 3 * STEP)
    world.evaluate(T + 4 * STEP)
    assert fires_and_resolves(receiver, "postgres-main on prod-web") == ["FIRING", "RESOLVED"]
    [alert] = world.alerts("resolved")
    assert (alert["object"], alert["value"], alert["kind"]) == ("postgres-main", 137, "container_stopped")


def test_a_container_missing_from_the_pushes_fires_but_one_recreated_under_a_new_id_does_not(world, receiver):
    world.rule(kind="container_stopped", name="stopped", channels=[world.channel()])
    world.push(T, [container("c1", "web"), container("c2", "db")])
    world.evaluate(T)
    # docker compose up: web comes back under a new id, running; db is gone from the push
    world.push(T + STEP, [container("c9", "web")])
    world.evaluate(T + STEP)
    [fired] = receiver.messages()
    assert fired["title"] == "[kubewatch] FIRING: stopped: db on prod-web"
    assert fired["message"].startswith("db is missing from the agent's pushes")
    world.push(T + 2 * STEP, [container("c9", "web"), container("c3", "db")])
    world.evaluate(T + 2 * STEP)
    assert fires_and_resolves(receiver, "db on prod-web") == ["FIRING", "RESOLVED"]


def test_a_restart_fires_once_and_resolves_after_for_seconds_without_another(world, receiver):
    world.rule(kind="container_restarted", name="restarts", forSeconds=60, channels=[world.channel()])
    now = int(time.time())
    world.push(T, [container("c1", "api", restartCount=2)])
    world.evaluate(now)
    world.push(T + STEP, [container("c1", "api", restartCount=3)])
    world.evaluate(now + 15)
    world.push(T + 2 * STEP, [container("c1", "api", restartCount=4)])  # another restart while it fires
    world.evaluate(now + 45)
    world.evaluate(now + 100)  # 55 s after the last restart: still firing
    assert fires_and_resolves(receiver, "api on prod-web") == ["FIRING"]
    assert "api restarted (restart count 3)" in receiver.messages()[0]["message"]
    world.evaluate(now + 106)
    assert fires_and_resolves(receiver, "api on prod-web") == ["FIRING", "RESOLVED"]


def test_coming_back_under_a_new_id_after_a_stop_is_a_restart(world, receiver):
    world.rule(kind="container_restarted", name="restarts", channels=[world.channel()])
    now = int(time.time())
    world.push(T, [container("c1", "api")])
    world.evaluate(now)
    world.push(T + STEP, [container("c1", "api", status="exited", exitCode=1)])
    world.evaluate(now + 15)
    world.push(T + 2 * STEP, [container("c2", "api")])
    world.evaluate(now + 30)
    world.evaluate(now + 45)  # forSeconds 0: resolved at the next run
    assert fires_and_resolves(receiver, "api on prod-web") == ["FIRING", "RESOLVED"]


def test_unhealthy_fires_and_healthy_resolves(world, receiver):
    world.rule(kind="container_unhealthy", name="health", match="postgres*", channels=[world.channel()])
    world.push(T, [container("c1", "postgres-main", health="unhealthy"), container("c2", "web", health="unhealthy")])
    world.evaluate(T)
    world.push(T + STEP, [container("c1", "postgres-main", health="starting")])
    world.evaluate(T + STEP)
    world.push(T + 2 * STEP, [container("c1", "postgres-main", health="healthy")])
    world.evaluate(T + 2 * STEP)
    # web matches no rule's glob; postgres-main resolves once it is no longer unhealthy
    assert fires_and_resolves(receiver, "postgres-main on prod-web") == ["FIRING", "RESOLVED"]


@pytest.mark.parametrize("kind, field, high, low", [("cpu_above", "cpuPercent", 95.0, 20.0),
                                                    ("memory_above", "memoryMB", 500.0, 100.0)])
def test_a_threshold_fires_on_the_average_over_for_seconds_and_resolves_below_it(world, receiver, kind, field,
                                                                                high, low):
    world.rule(kind=kind, name="hot", threshold=80, forSeconds=30, channels=[world.channel()])
    now = int(time.time())
    for step, value in enumerate([high, high, low, high, high, high, low, low, low]):
        # one low sample in three keeps the average below 80; three high in a row lift it above
        world.push(T + step * STEP, [container("c1", "worker", **{field: value, "memoryLimitMB": 512.0})])
        world.evaluate(now + step * STEP)
    assert fires_and_resolves(receiver, "worker on prod-web") == ["FIRING", "RESOLVED"]
    fired = receiver.messages()[0]["message"]
    assert "(threshold 80)" in fired and "worker:" in fired


def test_cpu_of_a_pod_and_a_node_and_disk_of_a_node_fire_and_resolve(world, receiver):
    channel = world.channel()
    world.rule(kind="cpu_above", name="cpu", threshold=80, forSeconds=0, channels=[channel])
    world.rule(kind="disk_above", name="disk", threshold=90, channels=[channel])
    world.push(T, nodes=[node("n1", cpuPercent=95.0, fsUsedBytes=95)], pods=[pod("api", cpuPercent=120.0)])
    world.evaluate(T)
    world.evaluate(T + 70)  # disk's forSeconds defaults to 60 for thresholds
    world.push(T + STEP, nodes=[node("n1")], pods=[pod("api")])
    world.evaluate(T + 80)
    titles = receiver.titles()
    assert sorted(titles) == sorted([
        "[kubewatch] FIRING: cpu: n1 on prod-web", "[kubewatch] FIRING: cpu: shop/api on prod-web",
        "[kubewatch] FIRING: disk: n1 on prod-web", "[kubewatch] RESOLVED: cpu: n1 on prod-web",
        "[kubewatch] RESOLVED: cpu: shop/api on prod-web", "[kubewatch] RESOLVED: disk: n1 on prod-web"])


def test_a_pod_not_ready_fires_only_after_for_seconds(world, receiver):
    world.rule(kind="pod_not_ready", name="pods", forSeconds=60, channels=[world.channel()])
    world.push(T, pods=[pod("api", ready=False), pod("job", ready=False, phase="Succeeded")])
    world.evaluate(T)
    world.evaluate(T + 59)
    assert receiver.titles() == []
    world.evaluate(T + 60)
    world.push(T + STEP, pods=[pod("api")])
    world.evaluate(T + 75)
    assert fires_and_resolves(receiver, "shop/api on prod-web") == ["FIRING", "RESOLVED"]


def test_a_pod_ready_again_before_for_seconds_sends_nothing(world, receiver):
    world.rule(kind="pod_not_ready", name="pods", forSeconds=60, channels=[world.channel()])
    world.push(T, pods=[pod("api", ready=False)])
    world.evaluate(T)
    world.push(T + STEP, pods=[pod("api")])
    world.evaluate(T + 30)
    world.evaluate(T + 90)
    assert receiver.titles() == [] and world.alerts() == []


def test_a_node_not_ready_fires_and_resolves(world, receiver):
    world.rule(kind="node_not_ready", name="nodes", channels=[world.channel()])
    world.push(T, nodes=[node("n1", status="NotReady")])
    world.evaluate(T)
    world.push(T + STEP, nodes=[node("n1")])
    world.evaluate(T + STEP)
    assert fires_and_resolves(receiver, "nodes: n1 on prod-web") == ["FIRING", "RESOLVED"]


def test_an_agent_down_fires_after_three_intervals_and_resolves_when_it_pushes(world, receiver):
    world.rule(kind="agent_down", name="down", channels=[world.channel()])
    world.push(T, [container("c1", "web")])
    now = int(time.time())
    world.evaluate(now + 45)  # three intervals of 15 s: still connected
    world.evaluate(now + 47)
    world.evaluate(now + 60)
    assert receiver.titles() == ["[kubewatch] FIRING: down: prod-web"]
    world.push(T + STEP, [container("c1", "web")])
    world.evaluate(time.time())
    assert receiver.titles() == ["[kubewatch] FIRING: down: prod-web", "[kubewatch] RESOLVED: down: prod-web"]


def test_a_rule_for_one_agent_leaves_the_others_alone(world, receiver, org):
    other = org.register(name="other", hostname="other-01")
    world.rule(kind="container_unhealthy", agentId=world.agent["agentId"], channels=[world.channel()])
    world.push(T, [container("c1", "web", health="unhealthy")])
    world.push(T, [container("c1", "web", health="unhealthy")], agent=other)
    world.evaluate(T)
    assert receiver.titles() == ["[kubewatch] FIRING: container_unhealthy: web on prod-web"]


def test_another_organization_sees_none_of_these_alerts(world, receiver, other_org):
    world.rule(kind="container_unhealthy", channels=[world.channel()])
    world.push(T, [container("c1", "web", health="unhealthy")])
    world.evaluate(T)
    assert [a["object"] for a in world.alerts("firing", world.org.viewer)] == ["web"]
    assert world.alerts(token=other_org.viewer) == [] and world.alerts("firing", other_org.admin) == []


@pytest.mark.parametrize("ahead", [45, 300, 560])
def test_a_stop_after_a_fast_clock_is_set_right_fires_at_the_next_run(world, receiver, ahead):
    """The agent's state follows the push received (issue 11, item 5), and so does the evaluator: pushes
    stamped ahead of the server's clock do not hide the first push after the clock is fixed."""
    world.rule(kind="container_stopped", name="stopped", channels=[world.channel()])
    now = int(time.time())
    for step in range(3):
        world.push(now + ahead + step * STEP, [container("c1", "app")])
        world.evaluate(now + step)
    world.push(now + 3, [container("c1", "app", status="exited", exitCode=1), container("c2", "app-v2")])
    world.evaluate(now + 4)
    assert receiver.titles() == ["[kubewatch] FIRING: stopped: app on prod-web"]
    world.push(now + 18, [container("c1", "app"), container("c2", "app-v2")])
    world.evaluate(now + 19)
    assert fires_and_resolves(receiver, "app on prod-web") == ["FIRING", "RESOLVED"]
