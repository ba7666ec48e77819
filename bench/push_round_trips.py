"""A steady push's cost on SQLite and PostgreSQL, in process: wall, CPU, statements and round trips.

    python bench/push_round_trips.py                                  # this checkout, both engines
    python bench/push_round_trips.py --against ../kubewatch-before    # and another, alternating rounds
    python bench/push_round_trips.py --postgresql postgresql+psycopg://user@host:port/db

Each round, for each checkout, runs a fresh process that imports that checkout's kubewatch (and its
tests/conftest.py), makes a fresh database of each engine (a SQLite file; a database of the
PostgreSQL server, by default a throwaway cluster started from Debian's binaries as .ci/postgresql.sh
does, as root), registers --agents agents, pushes each twice to warm up, then pushes every agent
--pushes more times through the test client, the same --containers containers each time with
other samples (the steady push), and reads the wall and the process's CPU time around them. Then
a second app on the same database counts one steady push of each of 20 agents: on PostgreSQL
through a loopback proxy (tests/wire_count.py) counting the statements it is asked to run
(BEGIN and COMMIT included) and the round trips (each a wait for the server's answer); on SQLite
with the driver's trace of the statements run. Prints the median round of each checkout and engine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTED_AGENTS = 20


def measure(engine, url, agent_count, pushes, container_count):
    """Return {wall_ms, cpu_ms, statements, round_trips} of a steady push (the checkout is on sys.path)."""
    from sqlalchemy import event
    from conftest import TEST_CONFIG, Org, container
    from kubewatch import create_app
    from kubewatch.db import db
    import wire_count

    app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    org = Org(app, app.test_client(), "bench")
    agents = [org.register(name=f"agent-{n}", hostname=f"host-{n}") for n in range(agent_count)]
    start = int(time.time()) - 3600
    pushed = [0]

    def push(client, agent):
        pushed[0] += 1
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + pushed[0]))
        body = {"timestamp": at, "nodes": [], "pods": [], "containers": [
            container(f"c{n:011d}", f"service-{n}", cpuPercent=pushed[0] % 97 + n / 10, memoryMB=40 + pushed[0] % 7)
            for n in range(container_count)]}
        response = client.post(f"/api/v1/agents/{agent['agentId']}/push", json=body,
                               headers={"Authorization": f"Bearer {agent['token']}"})
        assert response.status_code == 200, response.json

    for _ in range(2):
        for agent in agents:
            push(org.client, agent)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(pushes):
        for agent in agents:
            push(org.client, agent)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    count = pushes * agent_count
    found = {"wall_ms": wall * 1000 / count, "cpu_ms": cpu * 1000 / count}
    with app.app_context():
        db.engine.dispose()

    proxy = wire_count.WireCount(url) if engine == "postgresql" else None
    traced = [0]
    counting = create_app({**TEST_CONFIG, "DATABASE_URL": proxy.url if proxy else url})
    client = counting.test_client()
    with counting.app_context():
        if proxy is None:
            db.engine.dispose()  # every connection from now on is traced
            event.listen(db.engine, "connect",
                         lambda connection, _: connection.set_trace_callback(lambda _: traced.__setitem__(0, traced[0] + 1)))
    for agent in agents[:COUNTED_AGENTS]:  # this app's first push of each reads what the agent described
        push(client, agent)
    before = proxy.counts() if proxy else (0, traced[0])
    for agent in agents[:COUNTED_AGENTS]:
        push(client, agent)
    after = proxy.counts() if proxy else (0, traced[0])
    found["round_trips"] = (after[0] - before[0]) / COUNTED_AGENTS if proxy else None
    found["statements"] = (after[1] - before[1]) / COUNTED_AGENTS
    with counting.app_context():
        db.engine.dispose()
    if proxy:
        proxy.close()
    return found


def worker(code, postgresql, agent_count, pushes, container_count):
    """Measure both engines with the kubewatch of checkout code; print one JSON line."""
    sys.path[:0] = [code, str(Path(code) / "tests"), str(ROOT / "tests")]
    results = {}
    for engine, server in (("sqlite", None), ("postgresql", postgresql)):
        with fresh_database(server) as url:
            results[engine] = measure(engine, url, agent_count, pushes, container_count)
    print(json.dumps(results))


@contextmanager
def fresh_database(postgresql):
    """Yield the URL of a fresh database: a SQLite file (postgresql None), or one made on that server and dropped."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    if postgresql is None:
        with tempfile.TemporaryDirectory() as work:
            yield f"sqlite:///{Path(work) / 'kubewatch.db'}"
        return
    admin = create_engine(postgresql, isolation_level="AUTOCOMMIT")
    name = f"kubewatch_trips_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgresql).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgresql_server(url):
    """Return url, or with `auto` the URL of a throwaway cluster (tests/pg_cluster.py), stopped when this process ends."""
    if url != "auto":
        return url
    sys.path.insert(0, str(ROOT / "tests"))
    import pg_cluster
    found = pg_cluster.start()
    if not found.startswith("postgresql"):
        raise SystemExit(f"PostgreSQL: {found}")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", help="another checkout of kubewatch, measured in alternating rounds")
    parser.add_argument("--postgresql", default="auto", help="a postgresql+psycopg:// URL of a server where "
                        "databases may be made, or `auto` (default): a throwaway cluster")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--pushes", type=int, default=5, help="steady pushes of each agent measured, per round")
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.postgresql, args.agents, args.pushes, args.containers)
    trees = {"this": str(ROOT)}
    if args.against:
        trees["against"] = str(Path(args.against).resolve())
    found = {name: [] for name in trees}
    print(f"{args.agents} agents x {args.containers} containers, {args.pushes} steady pushes each per round, "
          f"median of {args.rounds} alternating rounds; load average {os.getloadavg()[0]:.2f} at the start")
    postgresql = postgresql_server(args.postgresql)
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "TMPDIR": work}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                done = subprocess.run([sys.executable, __file__, "--worker", tree, "--postgresql", postgresql,
                                       "--agents", str(args.agents), "--pushes", str(args.pushes),
                                       "--containers", str(args.containers)], capture_output=True, text=True,
                                      env=env, cwd=tree)
                if done.returncode:
                    raise SystemExit(f"the {name} checkout's round failed:\n{done.stderr[-3000:]}")
                found[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{'engine':<11} {'checkout':<8} {'wall ms':>8} {'CPU ms':>7} {'statements':>10} {'round trips':>11}")
    for engine in ("sqlite", "postgresql"):
        for name in reversed(list(trees)):
            rounds = [result[engine] for result in found[name]]
            median = {key: statistics.median(r[key] for r in rounds) for key in ("wall_ms", "cpu_ms", "statements")}
            trips = rounds[0]["round_trips"]
            print(f"{engine:<11} {name:<8} {median['wall_ms']:>8.2f} {median['cpu_ms']:>7.2f} "
                  f"{median['statements']:>10.1f} {'-' if trips is None else f'{trips:.1f}':>11}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
