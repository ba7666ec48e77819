"""The cost of a Prometheus scrape: GET /metrics of 1,000 agents x 30 containers (the goal: under 250 ms).

    python bench/scrape.py                       # 1,000 agents x 30 containers, 7 scrapes
    python bench/scrape.py --agents 200 --runs 3

Fills a fresh SQLite file through the API (each agent registered with the ingest key and one push
of its containers, as agents do), then times, in-process and side by side on the same data:
the whole GET /metrics with a read-only key (Flask's request cycle included), and its parts: reading
the latest state, building the rows, writing the text, each in wall-clock and CPU milliseconds; and, once, prometheus_client's own
generate_latest over the same collector, which the exporter's writer replaces. Every scrape is
checked: status, and the number of container CPU series. Prints a table of milliseconds.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client.exposition import generate_latest  # noqa: E402

from kubewatch import create_app, exporter  # noqa: E402
from kubewatch.accounts import add_api_key, add_user  # noqa: E402
from kubewatch.db import db  # noqa: E402


def fill(app, agents, containers):
    """Register agents and push one push of containers each; return a read-only key."""
    with app.app_context():
        org_id = add_user("bench@example.com", "a bench password", "bench", "admin")
        ingest, read = add_api_key(org_id, "bench")["key"], add_api_key(org_id, "scrape", "read")["key"]
    client = app.test_client()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for a in range(agents):
        agent = client.post("/api/v1/agents/register", headers={"X-API-Key": ingest},
                            json={"name": f"host-{a:04d}", "hostname": f"host-{a:04d}.lan", "platform": "docker"}).json
        body = {"timestamp": now, "nodes": [], "pods": [], "containers": [
            {"id": f"{a:06x}{c:06x}", "name": f"app-{c}", "image": f"registry.lan/app-{c % 7}:1.{c}", "status": "running",
             "cpuPercent": (a * 31 + c) % 400 / 4, "memoryMB": 64 + c, "memoryLimitMB": 512, "networkRxBytes": a * c * 1000,
             "networkTxBytes": a * c * 700, "restartCount": c % 3} for c in range(containers)]}
        pushed = client.post(f"/api/v1/agents/{agent['agentId']}/push", json=body,
                             headers={"Authorization": f"Bearer {agent['token']}"})
        assert pushed.status_code == 200, pushed.text
    return read


def timed(runs, call):
    """Return (median ms, min ms, median CPU ms, last result) of runs calls.

    CPU is this process's time (time.process_time): on a shared machine, other work stretches the
    wall clock of a scrape far more than the CPU it costs the server.
    """
    times, cpu, result = [], [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(times), min(times), statistics.median(cpu), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/scrape.db", "SECRET_KEY": "bench", "ROLLUP_INTERVAL": 0})
        started = time.perf_counter()
        key = fill(app, args.agents, args.containers)
        print(f"filled {args.agents} agents x {args.containers} containers in {time.perf_counter() - started:.1f} s")
        client, expected = app.test_client(), args.agents * args.containers

        def scrape():
            response = client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200, response.text
            return response.get_data()

        with app.app_context():
            org_id = db.session.execute(db.text("SELECT id FROM organizations")).scalar_one()
            now = int(time.time())
            lines = [("GET /metrics, whole", *timed(args.runs, scrape)[:3])]
            body = scrape()
            assert body.count(b"\nkubewatch_container_cpu_percent{") == expected, "missing series"
            from kubewatch.exported_labels import known_signatures
            from kubewatch.repository.latest import latest_state
            lines.append(("  read the latest state", *timed(args.runs, lambda: latest_state(org_id, known_signatures()))[:3]))
            median, low, cpu, found = timed(args.runs, lambda: exporter.latest(org_id, 45, now))
            lines.append(("  read, unpack and label", median, low, cpu))
            lines.append(("  write the text (exporter)", *timed(args.runs, lambda: sum(map(len, exporter.exposition_parts(found))))[:3]))
            collector = exporter.LatestState(org_id, 45, time.time)
            lines.append(("prometheus_client generate_latest, once", *timed(1, lambda: generate_latest(collector))[:3]))
        print(f"{'':42} {'median ms':>10} {'min ms':>10} {'CPU ms':>10}")
        for name, median, low, cpu in lines:
            print(f"{name:42} {median:10.1f} {low:10.1f} {cpu:10.1f}")
        samples = body.count(b"\n") - body.count(b"\n#") - 1
        print(f"{len(body) / 1e6:.1f} MB of text, {samples} samples")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
