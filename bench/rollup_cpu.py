"""The rollup job's CPU: rolling up a minute of many agents' pushes, this checkout against another, and closing an hour.

    python bench/rollup_cpu.py --against ../kubewatch-before               # 3 alternating rounds, 1,000 agents
    python bench/rollup_cpu.py --against ../kubewatch-before --rounds 5 --agents 2000
    python bench/rollup_cpu.py                                              # this checkout alone

Each round runs in a process of its own, in process (no HTTP): a fresh SQLite file, agents of 30
containers that push every 15 s for two minutes through the whole WSGI stack, the first minute
rolled up, then the second timed: the job's CPU time (user + system of the process) per push
rolled up. Where the checkout closes hours once whole (kubewatch/rollup_hours.py), the cost of
closing one (60 minute rows per object, written directly) is timed too, per object. Prints the
median round of each checkout and this one's share of the other's.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def measure(checkout, agent_count):
    """In this process, with checkout's kubewatch: return {"per_push_ms", "pushes", "close_per_object_us"}."""
    import io
    import logging
    import tempfile
    import time

    sys.path[:0] = [str(checkout), str(HERE)]
    import load
    from kubewatch import create_app, credentials, rollup_chunks, rollup_job
    from kubewatch.accounts import add_api_key
    from kubewatch.repository import account_rows

    logging.disable(logging.WARNING)  # the agents' clocks are not the server's: one line each otherwise
    work = tempfile.mkdtemp()
    app = create_app({"DATABASE_URL": f"sqlite:///{work}/kubewatch.db", "SECRET_KEY": "bench" * 8,
                      "PUSHES_PER_INTERVAL": 10**9, "OBJECTS_PER_INTERVAL": 10**12, "ROLLUP_INTERVAL": 0})
    with app.app_context():
        org = account_rows.create_user(credentials.new_id("org"), "bench", credentials.new_id("usr"),
                                       "admin@bench.test", "-", "admin", 0)
        key = add_api_key(org, "bench")["key"]
    client = app.test_client()
    now = int(time.time())
    minute = now - now % 60 - 5 * 60
    agents = []
    for index in range(agent_count):
        answer = client.post("/api/v1/agents/register", json={"name": f"a{index}", "hostname": "h"},
                             headers={"X-API-Key": key}).json
        agents.append(load.Agent(answer["agentId"], answer["token"], 30, seed=index, first_ts=minute - 60, ts_step=15))

    def push_minute():
        for _ in range(4):
            for agent in agents:
                body = agent.push_request().split(b"\r\n\r\n", 1)[1]
                environ = {"REQUEST_METHOD": "POST", "PATH_INFO": f"/api/v1/agents/{agent.agent_id}/push",
                           "SCRIPT_NAME": "", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                           "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                           "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
                           "HTTP_AUTHORIZATION": f"Bearer {agent.token}", "wsgi.input": io.BytesIO(body),
                           "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                           "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0)}
                b"".join(app(environ, lambda status, headers, exc_info=None: None))

    push_minute()
    with app.app_context():
        rollup_chunks.roll_up(minute)
    push_minute()
    with app.app_context():
        started = time.process_time()
        done = rollup_job.run(app.config, minute + 65)
        per_push = (time.process_time() - started) * 1000 / max(1, done.rolled_up)
    return {"per_push_ms": per_push, "pushes": done.rolled_up, "close_per_object_us": close_cost(app)}


def close_cost(app, agent_count=200):
    """Return the CPU in microseconds per object of closing one hour of 60 minute rows each, or None when the
    checkout has no such step."""
    import random
    import time

    try:
        from kubewatch import rollup_chunks, rollup_hours
    except ImportError:
        return None
    from sqlalchemy import text

    from kubewatch import buckets
    from kubewatch.db import db
    from kubewatch.kinds import COUNTER, GAUGE, KINDS

    kind, rng = KINDS["containers"], random.Random(1)
    hour = int(time.time()) // 3600 * 3600 - 3 * 3600
    rows = []
    for agent in range(agent_count):
        for key in range(30):
            for minute in range(60):
                bucket, summary = hour + 60 * minute, [4]
                for metric in kind.metrics:
                    value = rng.uniform(0, 100)
                    summary.append((value * 4, value, 4) if metric.how == GAUGE else (value * 4, 4)
                                   if metric.how == COUNTER else (bucket, value))
                rows.append({"agent_id": f"close-{agent}", "key": key, "bucket": bucket,
                             **dict(zip(buckets.rollup_columns(kind), buckets.to_row(kind, summary)))})
    columns = ", ".join(buckets.rollup_columns(kind))
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO agents (id, org_id, name, hostname, created_at, hours_through) SELECT "
                              ":id, id, :id, 'h', 0, :hour FROM organizations"),
                         [{"id": f"close-{agent}", "hour": hour} for agent in range(agent_count)])
            conn.execute(text("INSERT INTO containers (agent_id, key, runtime_id, name, first_seen, described_at) "
                              "VALUES (:agent_id, :key, :name, :name, 0, 0)"),
                         [{"agent_id": f"close-{agent}", "key": key, "name": f"c{key}"}
                          for agent in range(agent_count) for key in range(30)])
            conn.execute(text(f"INSERT INTO container_rollups (agent_id, key, step, bucket, {columns}) "
                              f"VALUES (:agent_id, :key, 60, :bucket, "
                              f"{', '.join(':' + c for c in buckets.rollup_columns(kind))})"), rows)
        started = time.process_time()
        rollup_hours.close(hour + 3600 + 60, rollup_chunks.new_writes(lambda: None), budget=10**9)
        return (time.process_time() - started) * 1e6 / (agent_count * 30)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", help="another checkout of kubewatch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one round, in this process, of that checkout
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure), args.agents)))
        return
    trees = {"this": ROOT, **({"against": Path(args.against).resolve()} if args.against else {})}
    found = {name: [] for name in trees}
    load_before = os.getloadavg()[0]
    for _ in range(args.rounds):  # alternating, so that a noisy moment hits both alike
        for name, tree in trees.items():
            out = subprocess.run([sys.executable, __file__, "--measure", str(tree), "--agents", str(args.agents)],
                                 capture_output=True, text=True, check=True).stdout
            found[name].append(json.loads(out.strip().splitlines()[-1]))
    print(f"median of {args.rounds} rounds, {args.agents} agents x 30 containers, a minute of pushes every 15 s; "
          f"load average {load_before:.1f} to {os.getloadavg()[0]:.1f}")
    base = statistics.median(r["per_push_ms"] for r in found["against" if args.against else "this"])
    for name, rounds in found.items():
        per_push = statistics.median(r["per_push_ms"] for r in rounds)
        closing = [r["close_per_object_us"] for r in rounds if r["close_per_object_us"] is not None]
        each = ", ".join(f"{r['per_push_ms']:.3f}" for r in rounds)
        close = f"{statistics.median(closing):.0f} us CPU per object" if closing else "not a step of this checkout"
        print(f"{name:<8} rollup CPU {per_push:.3f} ms per push (rounds: {each}), share {per_push / base:.2f}; "
              f"closing an hour: {close}")


if __name__ == "__main__":
    main()
