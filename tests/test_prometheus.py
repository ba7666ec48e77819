"""GET /metrics: the latest state of the key's organization and the server's health, in Prometheus's text format."""

import json
import re
import time
from pathlib import Path

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text as sql_text

from kubewatch import db, exporter
from kubewatch.server_metrics import ALERTS_FIRING
from alerting_world import Receiver, World
from conftest import bearer, container, sample_push

MIB = 1024 * 1024
NODE = {"name": "node-1", "status": "Ready", "cpuPercent": 20.5, "memoryMB": 2048, "podCount": 7,
        "networkRxBytes": 100, "networkTxBytes": 200, "fsUsedBytes": 300, "fsCapacityBytes": 400}
POD = {"name": "web-1", "namespace": "shop", "nodeName": "node-1", "phase": "Running", "ready": True,
       "cpuPercent": 2.5, "memoryMB": 64, "restartCount": 3}


def now_push(**body):
    return sample_push(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **body)


@pytest.fixture
def read_key(client, org):
    return client.post("/api/v1/api-keys", json={"scope": "read"}, headers=bearer(org.admin)).json


def scrape(client, key):
    response = client.get("/metrics", headers=bearer(key))
    assert response.status_code == 200, response.json
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    return response.get_data(as_text=True)


def samples(text):
    """Return {(sample name, sorted labels): value} of a scrape, parsed by prometheus_client's parser."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_a_scrape_parses_and_holds_every_object_of_the_latest_push_in_base_units(client, org, read_key):
    agent = org.register()
    assert org.push(agent, now_push(nodes=[NODE], pods=[POD])).status_code == 200
    found = samples(scrape(client, read_key["key"]))
    who = (("agent", "prod-web"), ("agent_id", agent["agentId"]))
    c = tuple(sorted(who + (("container", "nginx-prod"), ("container_id", "a1b2c3d4e5f6"), ("image", "nginx:1.25"),
                            ("status", "running"))))
    assert found[("kubewatch_container_cpu_percent", c)] == 12.4
    assert found[("kubewatch_container_memory_bytes", c)] == 48 * MIB
    assert found[("kubewatch_container_memory_limit_bytes", c)] == 512 * MIB
    assert found[("kubewatch_container_network_receive_bytes_total", c)] == 10240
    assert found[("kubewatch_container_network_transmit_bytes_total", c)] == 8192
    assert found[("kubewatch_container_restarts_total", c)] == 0
    n = tuple(sorted(who + (("node", "node-1"), ("status", "Ready"))))
    assert [found[(f"kubewatch_node_{name}", n)] for name in (
        "cpu_percent", "memory_bytes", "pods", "network_receive_bytes_total", "network_transmit_bytes_total",
        "filesystem_used_bytes", "filesystem_capacity_bytes")] == [20.5, 2048 * MIB, 7, 100, 200, 300, 400]
    p = tuple(sorted(who + (("namespace", "shop"), ("pod", "web-1"), ("node", "node-1"), ("phase", "Running"))))
    assert (found[("kubewatch_pod_cpu_percent", p)], found[("kubewatch_pod_restarts_total", p)]) == (2.5, 3)
    assert ("kubewatch_pod_memory_limit_bytes", p) not in found  # not measured: not exported
    a = tuple(sorted(who + (("platform", "docker"),)))
    assert found[("kubewatch_agent_up", a)] == 1
    assert abs(found[("kubewatch_agent_last_seen_timestamp_seconds", a)] - time.time()) < 60


def test_counters_are_typed_and_named_with_total(client, org, read_key):
    org.push(org.register(), now_push())
    types = {family.name: family.type for family in text_string_to_metric_families(scrape(client, read_key["key"]))}
    assert types["kubewatch_container_restarts"] == "counter"
    assert types["kubewatch_container_network_receive_bytes"] == "counter"
    assert types["kubewatch_container_memory_bytes"] == "gauge"
    assert types["kubewatch_push_duration_seconds"] == "histogram"


@pytest.mark.parametrize("value", ['say "hi"', "back\\slash", "two\nlines", 'all "\\\n" of them', "ünïcode"])
def test_label_values_with_quotes_backslashes_and_newlines_are_escaped(client, org, read_key, value):
    agent = org.register(name=value)
    org.push(agent, now_push(containers=[container("c1", value, image=value, status=value)]))
    text = scrape(client, read_key["key"])
    escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    assert f'container="{escaped}"' in text
    found = samples(text)
    labels = dict(next(labels for name, labels in found if name == "kubewatch_container_cpu_percent"))
    assert (labels["agent"], labels["container"], labels["image"], labels["status"]) == (value,) * 4


def test_another_organizations_objects_never_appear(client, org, other_org, read_key):
    theirs = other_org.register(name="globex-secret-agent")
    other_org.push(theirs, now_push(containers=[container("ffff", "globex-secret-container")]))
    org.push(org.register(), now_push())
    text = scrape(client, read_key["key"])
    assert "globex" not in text and theirs["agentId"] not in text
    assert "nginx-prod" in text


def test_an_object_not_in_the_latest_push_is_not_exported(client, org, read_key):
    agent = org.register()
    first = now_push(containers=[container("old1", "gone-soon"), container("keep1", "staying")])
    org.push(agent, first)
    later = sample_push(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1)),
                        containers=[container("keep1", "staying")])
    assert org.push(agent, later).status_code == 200
    text = scrape(client, read_key["key"])
    assert "gone-soon" not in text and 'container="staying"' in text


@pytest.mark.parametrize("credential", ["revoked", "ingest", "none", "garbage", "read-prefix-unknown"])
def test_a_revoked_ingest_or_missing_credential_is_refused(client, org, read_key, credential):
    client.delete(f"/api/v1/api-keys/{read_key['id']}", headers=bearer(org.admin)) if credential == "revoked" else None
    headers = {"revoked": bearer(read_key["key"]), "ingest": bearer(org.api_key), "none": {},
               "garbage": bearer("nonsense"), "read-prefix-unknown": bearer("kw_read_" + "x" * 43)}[credential]
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert set(response.json) >= {"code", "status", "message"}


def test_pushes_are_counted_by_status_and_timed(client, org, read_key):
    agent = org.register()
    org.push(agent, now_push())
    org.push(agent, sample_push("not a time"))
    client.post(f"/api/v1/agents/{agent['agentId']}/push", json=now_push(), headers=bearer("expired"))
    found = samples(scrape(client, read_key["key"]))
    assert found[("kubewatch_pushes_received_total", (("status", "200"),))] == 1
    assert found[("kubewatch_pushes_received_total", (("status", "400"),))] == 1
    assert found[("kubewatch_pushes_received_total", (("status", "401"),))] == 1
    assert found[("kubewatch_push_duration_seconds_count", ())] == 3
    assert found[("kubewatch_push_duration_seconds_bucket", (("le", "+Inf"),))] == 3
    assert 0 < found[("kubewatch_push_duration_seconds_sum", ())] < 30
    assert found[("kubewatch_database_size_bytes", ())] > 0
    assert 0 <= found[("kubewatch_rollup_backlog_seconds", ())] < 60
    assert found[("kubewatch_alerts_firing", ())] == 0


def test_alerts_firing_counts_the_organization_s_fired_unresolved_alerts(app, client, org, other_org, read_key):
    receiver = Receiver()
    try:
        world, elsewhere = World(app, org, receiver), World(app, other_org, receiver)
        for each in (world, elsewhere):
            each.rule(kind="container_stopped", name="stopped", channels=[each.channel()])
        then = int(time.time()) - 600
        world.push(then, [container("c1", "db"), container("c2", "web")])
        elsewhere.push(then, [container("c9", "theirs")])
        world.evaluate(then)
        elsewhere.evaluate(then)
        world.push(then + 15, [container("c1", "db", status="exited"), container("c2", "web", status="exited")])
        elsewhere.push(then + 15, [container("c9", "theirs", status="exited")])
        world.evaluate(then + 15)
        elsewhere.evaluate(then + 15)
        assert samples(scrape(client, read_key["key"]))[("kubewatch_alerts_firing", ())] == 2
        world.push(then + 30, [container("c1", "db"), container("c2", "web", status="exited")])
        world.evaluate(then + 30)
        assert samples(scrape(client, read_key["key"]))[("kubewatch_alerts_firing", ())] == 1
    finally:
        receiver.stop()


def test_alerts_firing_are_exported_as_an_alerting_module_provides_them(app, client, org, read_key):
    app.extensions[ALERTS_FIRING] = lambda org_id: {org.id: 2}.get(org_id, 0)
    assert samples(scrape(client, read_key["key"]))[("kubewatch_alerts_firing", ())] == 2


def test_an_agent_not_heard_from_for_three_intervals_is_down(app, client, org, read_key):
    agent = org.register()
    old = sample_push(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600)))
    org.push(agent, old)
    with app.app_context():
        from kubewatch.db import write
        from sqlalchemy import text
        with write() as conn:
            conn.execute(text("UPDATE agents SET last_seen = last_seen - 3600"))
    ups = [v for (name, _), v in samples(scrape(client, read_key["key"])).items() if name == "kubewatch_agent_up"]
    assert ups == [0]


def test_the_text_holds_the_series_prometheus_client_writes_from_the_collector(app, client, org, read_key):
    agent = org.register(name='q"uote')
    org.push(agent, now_push(nodes=[NODE], pods=[POD], containers=[container("c1", "a\\b"), container("c2", "x\ny")]))
    with app.app_context():
        collector = exporter.LatestState(org.id, 45, lambda: 1_800_000_000)
        written = exporter.exposition(exporter.latest(org.id, 45, 1_800_000_000))
        by_prometheus_client = generate_latest(collector).decode()
    assert len(samples(written)) == 2 + 2 * 6 + 7 + 3  # the pod has no limit nor network counters
    assert samples(written) == samples(by_prometheus_client)
    families = lambda text: [(f.name, f.type, f.documentation) for f in text_string_to_metric_families(text)]
    assert families(written) == families(by_prometheus_client)


def dashboard_queries():
    """Return the PromQL of every panel of the Grafana dashboard in docs/, its variables made concrete."""
    document = json.loads((Path(__file__).parent.parent / "docs" / "grafana-dashboard.json").read_text())
    return [target["expr"].replace("$agent", ".*") for panel in document["panels"] for target in panel.get("targets", [])]


def test_the_grafana_dashboard_charts_only_exported_series(app, client, org, read_key):
    org.push(org.register(), now_push(nodes=[NODE], pods=[POD]))
    exported = {s.name for family in text_string_to_metric_families(scrape(client, read_key["key"]))
                for s in family.samples}
    charted = {name for query in dashboard_queries() for name in re.findall(r"kubewatch_\w+", query)}
    assert charted - exported == set()
    assert len(charted) >= 20


def test_a_renamed_or_restatused_container_is_exported_with_its_new_labels(client, org, read_key):
    agent = org.register()
    org.push(agent, now_push(containers=[container("c1", "before", status="running")]))
    assert 'container="before"' in scrape(client, read_key["key"])
    later = sample_push(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1)),
                        containers=[container("c1", "after", status="exited")])
    assert org.push(agent, later).status_code == 200
    text = scrape(client, read_key["key"])
    assert 'container="after"' in text and 'status="exited"' in text
    assert "before" not in text and 'status="running"' not in text


def test_labels_kept_between_scrapes_follow_new_objects_and_a_renamed_agent(app, client, org, read_key, query):
    agent = org.register()
    org.push(agent, now_push(containers=[container("c1", "first")]))
    first = scrape(client, read_key["key"])
    assert scrape(client, read_key["key"]).split("kubewatch_pushes_received_total")[0] == first.split(
        "kubewatch_pushes_received_total")[0]  # labels kept: the same series
    later = sample_push(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1)),
                        containers=[container("c1", "first"), container("c2", "second")])
    assert org.push(agent, later).status_code == 200
    text = scrape(client, read_key["key"])
    assert 'container="first"' in text and 'container="second"' in text
    with app.app_context(), db.write() as conn:  # a rename changes no description
        conn.execute(sql_text("UPDATE agents SET name = 'renamed'"))
    text = scrape(client, read_key["key"])
    assert text.count('agent="renamed"') == 2 + 2 * 6 and 'agent="prod-web"' not in text
