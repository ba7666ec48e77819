"""An agent's added-up series read in one pass over its objects: the same numbers as reading them one by one."""

import pytest

from conftest import container
from kubewatch import rollup_job, series_query, totals
from kubewatch.api.fields import EpochTime
from kubewatch.kinds import CONTAINERS, NODES
from kubewatch.repository import agents, sample_rows

START = 1_781_000_000 - 1_781_000_000 % 3600  # a whole hour, in the raw tier of the tests' retention
NOW = START + 3 * 3600


def one_by_one(agent, start, end, step, config):
    """The agent's series as it was added up before: each object's series read alone, summed in key order."""
    kind = totals.kind_of(agent)
    sums, counts, found = {}, {}, {"resolution": "raw", "step": step}
    for key in sample_rows.object_keys(kind, agent["id"]):
        found = series_query.read_series(kind, agent["id"], key, start, end, step, NOW, config)
        for point in found["points"]:
            total = sums.setdefault(point["t"], {})
            for name in totals.SUMMED:
                if point.get(name) is not None:
                    total[name] = total.get(name, 0) + point[name]
                    counts[point["t"], name] = counts.get((point["t"], name), 0) + 1
    if kind is NODES:
        for t, total in sums.items():
            for name in ("cpuPercent", "cpuPercentMax"):
                if name in total:
                    total[name] /= counts[t, name]
    return {"resolution": found["resolution"], "step": found["step"], "of": kind.name,
            "points": [{"t": t, **{name: sums[t].get(name) for name in totals.SUMMED}} for t in sorted(sums)]}


def push_history(org, agent, nodes=False):
    """Push 2.5 hours every 20 s: objects come and go, some values are not measured; roll up all but the last half hour."""
    for ts in range(START, START + 9000, 20):
        step = (ts - START) // 20
        objects = [container(f"c{i}", f"svc-{i}", cpuPercent=(step * 7 + i * 13) % 97 / 3.1,
                             memoryMB=40 + (step * i) % 17 / 7, networkRxBytes=step * 1000 * (i + 1),
                             networkTxBytes=step * 333 * i, restartCount=step // 50)
                   for i in range(12) if not (i == 3 and 100 < step < 200) and not (i == 7 and step < 150)]
        objects[0]["cpuPercent"] = None if step % 5 == 0 else objects[0]["cpuPercent"]
        body = {"timestamp": EpochTime.format(ts), "containers": [] if nodes else objects, "pods": [],
                "nodes": [{"name": f"node-{i}", "cpuPercent": o["cpuPercent"], "memoryMB": o["memoryMB"],
                           "memoryCapacityMB": 4096, "podCount": i} for i, o in enumerate(objects[:5])] if nodes else []}
        assert org.push(agent, body).status_code == 200
        if ts == START + 7200:
            app = org.client.application
            with app.app_context():
                rollup_job.run(app.config, ts)  # the rest waits for the rollup job


@pytest.mark.parametrize("nodes", [False, True], ids=["containers", "nodes"])
def test_the_agents_series_read_in_one_pass_equals_the_sum_of_its_objects_read_one_by_one(app, org, nodes):
    agent_id = org.register(platform="kubernetes" if nodes else "docker")
    push_history(org, agent_id, nodes)
    with app.app_context():
        agent = agents.agent_for_org(org.id, agent_id["agentId"])
        assert totals.kind_of(agent) is (NODES if nodes else CONTAINERS)
        asked = [(START, NOW, None), (START + 8000, NOW, None), (START, NOW, 60), (START, NOW, 300),
                 (START + 1234, START + 8888, 120), (START, NOW, 3600), (START - 7200, NOW, 7200)]
        for start, end, step in asked:
            expected = one_by_one(agent, start, end, step, app.config)
            found = totals.agent_series(agent, start, end, step, NOW, app.config)
            assert found == expected, (start, end, step)
            assert len(found["points"]) > 1


def test_one_pass_refuses_too_many_points_as_the_one_by_one_read_does(app, org):
    agent_id = org.register()
    push_history(org, agent_id)
    with app.app_context():
        agent = agents.agent_for_org(org.id, agent_id["agentId"])
        for read in (one_by_one, lambda *args: totals.agent_series(*args[:4], NOW, app.config)):
            with pytest.raises(series_query.QueryError, match="more than 10000 points"):
                read(agent, START, NOW, 1, app.config)
