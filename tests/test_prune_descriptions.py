"""Everything kept is bounded by retention: objects with no sample left in any tier go with the prune."""

import pytest

import engines
from conftest import TEST_CONFIG, Org, bearer, container
from kubewatch import create_app, rollup_job
from kubewatch import ingest
from kubewatch.api import agents as agents_api
from kubewatch.api.fields import EpochTime
from kubewatch.db import db

HOUR = 3600
# The shortest retention the settings allow, so that a few hours of a CI host make the whole story.
RETENTION = {"RAW_RETENTION": HOUR, "MINUTE_RETENTION": 2 * HOUR, "HOUR_RETENTION": 3 * HOUR}
INTERVAL = 300


class Clock:
    def __init__(self, now):
        self.now = now

    def time(self):
        return self.now


@pytest.fixture
def app(db_engine, tmp_path):
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=engines.file_url(tmp_path / 'kubewatch.db'), **RETENTION))
    yield app
    with app.app_context():
        db.engine.dispose()


def _query(app, sql):
    with app.app_context(), db.engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql).all()]


def test_a_ci_hosts_short_lived_containers_are_gone_once_their_samples_are(app, monkeypatch):
    """Each hour five CI jobs run a container for two pushes beside a long-running runner."""
    start = 1_800_000_000 - 1_800_000_000 % HOUR
    clock = Clock(start)
    for module in (agents_api, ingest):  # the server's receive time, as if these hours passed
        monkeypatch.setattr(module, "time", clock)
    org = Org(app, app.test_client(), "acme")
    agent = org.register(name="ci-01", hostname="ci-01")
    last_sample = {}
    for step in range(8 * HOUR // INTERVAL):
        ts = clock.now = start + step * INTERVAL
        hour, slot = divmod(step, HOUR // INTERVAL)
        jobs = [container(f"job-{hour}-{slot // 2}", f"job-{hour}-{slot // 2}")] if slot < 10 else []
        body = {"timestamp": EpochTime.format(ts), "containers": [container("runner", "runner")] + jobs}
        assert org.push(agent, body).status_code == 200
        for item in body["containers"]:
            last_sample[item["id"]] = ts
        if ts % HOUR == HOUR - INTERVAL:  # the rollup job, as the server's timer runs it
            with app.app_context():
                rollup_job.run(app.config, ts + INTERVAL)
    end = clock.now + INTERVAL
    with app.app_context():
        rollup_job.run(app.config, end)
    # Kept: what has a sample in a tier still kept, which the hour tier bounds (see rollup_job.run).
    hours_before = (end - RETENTION["HOUR_RETENTION"]) - (end - RETENTION["HOUR_RETENTION"]) % HOUR
    expected = sorted(cid for cid, ts in last_sample.items() if ts >= hours_before)
    assert len(expected) < len(last_sample) - 20  # most jobs are long gone
    assert sorted(row[0] for row in _query(app, "SELECT runtime_id FROM containers")) == expected
    for kind in ("container_rollups",):
        keys = {row[0] for row in _query(app, f"SELECT DISTINCT key FROM {kind}")}
        described = {row[0] for row in _query(app, "SELECT key FROM containers")}
        assert keys <= described  # no rollup lost its description
    listed = org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer))
    assert [c["id"] for c in listed.json] == ["runner"]

    # Hours later the runner stops too: once its samples are past retention, nothing of the agent's objects is left.
    with app.app_context():
        rollup_job.run(app.config, end + 4 * HOUR)
    assert _query(app, "SELECT COUNT(*) FROM containers") == [(0,)]
    assert _query(app, "SELECT COUNT(*) FROM container_rollups") == [(0,)]
    assert org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer)).json == []

    # And when it comes back with the same containers, they are described anew and listed.
    clock.now = end + 4 * HOUR
    body = {"timestamp": EpochTime.format(clock.now), "containers": [container("runner", "runner")]}
    assert org.push(agent, body).status_code == 200
    listed = org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer)).json
    assert [(c["id"], c["name"]) for c in listed] == [("runner", "runner")]


def test_an_object_only_in_a_push_not_rolled_up_yet_is_kept(app, monkeypatch):
    clock = Clock(1_800_000_000)
    for module in (agents_api, ingest):
        monkeypatch.setattr(module, "time", clock)
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    body = {"timestamp": EpochTime.format(clock.now), "containers": [container("fresh", "fresh")],
            "nodes": [{"name": "node-1"}], "pods": [{"namespace": "default", "name": "p"}]}
    assert org.push(agent, body).status_code == 200
    with app.app_context():
        rollup_job.run(app.config, clock.now - 120)  # its minute is not over: not rolled up, and pruning runs
    assert _query(app, "SELECT rolled_up FROM pushes") == [(0,)]
    assert _query(app, "SELECT runtime_id FROM containers") == [("fresh",)]
    assert _query(app, "SELECT name FROM nodes") == [("node-1",)]
    assert _query(app, "SELECT name FROM pods") == [("p",)]


def test_nodes_and_pods_go_with_their_samples_too(app, monkeypatch):
    clock = Clock(1_800_000_000 - 1_800_000_000 % HOUR)
    for module in (agents_api, ingest):
        monkeypatch.setattr(module, "time", clock)
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    old = {"timestamp": EpochTime.format(clock.now), "containers": [],
           "nodes": [{"name": "old-node"}], "pods": [{"namespace": "ci", "name": "old-pod"}]}
    assert org.push(agent, old).status_code == 200
    clock.now += 5 * HOUR
    new = {"timestamp": EpochTime.format(clock.now), "containers": [],
           "nodes": [{"name": "new-node"}], "pods": [{"namespace": "ci", "name": "new-pod"}]}
    assert org.push(agent, new).status_code == 200
    with app.app_context():
        rollup_job.run(app.config, clock.now + 60)
    assert _query(app, "SELECT name FROM nodes") == [("new-node",)]
    assert _query(app, "SELECT name FROM pods") == [("new-pod",)]
    nodes = org.client.get(f"/api/v1/agents/{agent['agentId']}/nodes", headers=bearer(org.viewer)).json
    assert [n["name"] for n in nodes] == ["new-node"]
