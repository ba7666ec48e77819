"""What one run of the alert evaluator costs: 1,000 agents x 30 containers, every kind of rule on.

    python bench/alerts.py                     # 1,000 agents x 30 containers, the table
    python bench/alerts.py --agents 200        # smaller

Fills a fresh SQLite file through the product (create_app, register_agent, store_push with bodies
loaded by the push path's own loader): one organization, its agents each pushing 30 containers
every 15 s for two minutes, with a few containers stopped, restarted, unhealthy or hot. The rules
are one of each container kind, agent_down, and cpu_above and memory_above averaged over 60 s, to
one channel. Then, side by side in one process, it times Evaluator.run in CPU seconds
(time.process_time) for: the first run (reads every agent's last window), a steady run after each
agent pushed once more (what a server at a 15 s interval does every run), and a run with no new
push. Deliveries are queued but not sent: sending is the courier's, off the evaluator.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubewatch import create_app  # noqa: E402
from kubewatch.alerting.evaluate import Evaluator  # noqa: E402
from kubewatch.api.push_validation import fast_load  # noqa: E402
from kubewatch.credentials import new_id  # noqa: E402
from kubewatch.db import db  # noqa: E402
from kubewatch.repository import account_rows, agents, alert_config, pushes  # noqa: E402

CONTAINERS, INTERVAL = 30, 15
RULES = [("stopped", "container_stopped", None, 0), ("restarted", "container_restarted", None, 300),
         ("unhealthy", "container_unhealthy", None, 0), ("down", "agent_down", None, 0),
         ("cpu", "cpu_above", 90.0, 60), ("memory", "memory_above", 90.0, 60)]


def body(ts, agent_index, step):
    """Return a push's bytes: a few containers of some agents stop, restart, turn unhealthy or run hot."""
    containers = []
    for c in range(CONTAINERS):
        odd = agent_index % 50 == 0 and c < 2 and step >= 6
        containers.append({
            "id": f"{agent_index:04d}{c:08d}", "name": f"svc-{c}", "image": "nginx:1.25",
            "status": "exited" if odd and c == 0 else "running", "health": "unhealthy" if odd else "healthy",
            "exitCode": 137 if odd and c == 0 else None, "oomKilled": odd and c == 0,
            "cpuPercent": 95.0 if odd else 5.0 + c, "memoryMB": 100.0 + c, "memoryLimitMB": 512.0,
            "networkRxBytes": 1000 * step, "networkTxBytes": 500 * step, "restartCount": step // 4 if odd else 0})
    return msgspec.json.encode({"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)),
                                "containers": containers, "nodes": [], "pods": []})


def push_all(ids, ts, step):
    for index, agent_id in enumerate(ids):
        pushes.store_push(agent_id, ts, int(time.time()), fast_load(body(ts, index, step))._asdict())


def timed(evaluator, app, now):
    started = time.process_time()
    with app.app_context():
        outcome = evaluator.run(app.config, now)
    return time.process_time() - started, outcome


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5, help="steady runs to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/alerts.db", "SECRET_KEY": "bench", "ALERT_INTERVAL": 0})
        with app.app_context():
            org = account_rows.create_user(new_id("org"), "bench", new_id("usr"), "a@bench.test", "x", "admin", 0)
            channel = alert_config.add_channel(org, new_id("chan"), "hook", "json://127.0.0.1:9/hook", 0)["id"]
            for name, kind, threshold, seconds in RULES:
                alert_config.save_rule(org, {"id": new_id("rule"), "name": name, "kind": kind, "agent_id": None,
                                             "match": None, "threshold": threshold, "for_seconds": seconds,
                                             "repeat_seconds": None, "enabled": True, "channels": [channel]},
                                       0, creating=True)
            ids = [agents.register_agent(org, f"agent-{i}", f"host-{i}", "1", "docker", 0, lambda: new_id("agent"))
                   for i in range(args.agents)]
            start = int(time.time()) - 10 * INTERVAL
            filled = time.monotonic()
            for step in range(8):
                push_all(ids, start + step * INTERVAL, step)
            print(f"filled {args.agents} agents x {CONTAINERS} containers x 8 pushes "
                  f"in {time.monotonic() - filled:.0f} s", flush=True)
        evaluator, now = Evaluator(), int(time.time())
        cold, outcome = timed(evaluator, app, now)
        steady = []
        for run in range(args.runs):
            with app.app_context():
                push_all(ids, start + (8 + run) * INTERVAL, 8 + run)
            seconds, _ = timed(evaluator, app, now + (run + 1) * INTERVAL)
            steady.append(seconds)
        idle, _ = timed(evaluator, app, now + (args.runs + 1) * INTERVAL)
        print(f"\none evaluation over {args.agents} agents x {CONTAINERS} containers, {len(RULES)} rules "
              f"({outcome.fired} alerts fired on the first run), CPU ms:")
        print(f"{'run':<44}{'CPU ms':>8}")
        print(f"{'first run (reads each agent last 90 s)':<44}{cold * 1000:>8.0f}")
        print(f"{'steady: one new push per agent, median of ' + str(args.runs):<44}"
              f"{statistics.median(steady) * 1000:>8.0f}")
        print(f"{'steady: slowest of ' + str(args.runs):<44}{max(steady) * 1000:>8.0f}")
        print(f"{'no new push':<44}{idle * 1000:>8.0f}")
        print(f"goal: under 200 ms for a steady run: {'met' if statistics.median(steady) < 0.2 else 'NOT met'}")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
