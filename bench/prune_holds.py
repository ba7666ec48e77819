"""How long the prune pass holds the writer lock per transaction, at each size of its chunks, side by side.

    python bench/prune_holds.py                           # PRUNE_ROWS/PRUNE_PUSHES 2000/50 and 250/50
    python bench/prune_holds.py --sizes 2000/50,250/50,250/10 --agents 200 --rounds 5

Fills one SQLite file through the app (the test client): --agents agents push --containers
containers every 15 s for two hours that ended an hour ago, and the rollup job rolls them up.
Then, for each pair of sizes in --sizes (PRUNE_ROWS/PRUNE_PUSHES), in alternating rounds, each
in a fresh process on a fresh copy of that file, the prune pass deletes what the server's job
deletes as the first of those hours passes the raw and the minute retention: its pushes a
minute at a time (the job prunes them every minute), then its minute rollups at once (every
hour). Each write transaction's hold of the writer lock is timed, from taking the lock to its
release, commit included. Prints, per pair and part, the round of median p99: the holds' p50,
p90, p99, max and sum in ms, the transactions and the rows deleted. A push served on
waitress's loop thread waits out such a hold (see kubewatch/rollup_chunks.py). The copy is hot
in the page cache, where a server's rows past retention are its coldest.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3600


def timed_writer(thread_name):
    """Put tests/held_lock.py's HeldLock, timing the holds of thread_name, in place of the writer lock; return it."""
    from held_lock import HeldLock
    from kubewatch import db
    db._writer = HeldLock(db._writer, thread_name, lambda: 0)
    return db._writer


def summary(lock):
    """Return the holds lock timed: p50, p90, p99, max and their sum in ms, and how many."""
    ordered = sorted(seconds * 1000 for _, seconds in lock.holds)

    def at(quantile):
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]
    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": ordered[-1], "sum": sum(ordered),
            "transactions": len(ordered)}


def in_thread(app, name, work):
    """Run work() in app's context in a thread of this name, as the server's job runs; return what it returned."""
    done = []

    def run():
        with app.app_context():
            done.append(work())
    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join()
    if not done:
        raise SystemExit(f"{name} failed (its traceback is above)")
    return done[0]


def fill(path, agent_count, container_count, start):
    """Fill the SQLite file at path with two hours of pushes from start, all rolled up (a catch-up of two hours)."""
    from conftest import TEST_CONFIG, Org, container
    from kubewatch import create_app, rollup_job
    from kubewatch.db import db
    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{path}"})
    org = Org(app, app.test_client(), "bench")
    agents = [org.register(name=f"agent-{n}", hostname=f"host-{n}") for n in range(agent_count)]
    for ts in range(start, start + 2 * HOUR, 15):
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
        for number, agent in enumerate(agents):
            body = {"timestamp": at, "nodes": [], "pods": [], "containers": [
                container(f"c{n:011d}", f"service-{n}", cpuPercent=(ts // 15 + number) % 97 + n / 10,
                          memoryMB=40 + (ts + n) % 7) for n in range(container_count)]}
            answer = org.client.post(f"/api/v1/agents/{agent['agentId']}/push", json=body,
                                     headers={"Authorization": f"Bearer {agent['token']}"})
            assert answer.status_code == 200, answer.json
    with app.app_context():
        rollup_job.run(app.config, start + 2 * HOUR + 60)
        db.engine.dispose()
    return {}


def prune_copy(path, rows, pushes, start):
    """Prune the first hour after start from the SQLite file at path in chunks of these sizes; return {part: summary}.

    The pushes a minute at a time, as the job prunes them past raw_retention every minute; then
    the hour's minute rollups at once, as it prunes them past minute_retention every hour.
    """
    from conftest import TEST_CONFIG
    from kubewatch import create_app
    from kubewatch.db import db
    from kubewatch.repository import prune_pass, pruning
    pruning.PRUNE_ROWS, pruning.PRUNE_PUSHES = rows, pushes
    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{path}"})
    found, writer = {}, timed_writer("prune")
    with app.app_context():
        for part, runs in (("pushes", [(start + minute, None) for minute in range(60, HOUR + 1, 60)]),
                           ("minutes", [(start, start + HOUR)])):
            writer.holds.clear()
            deleted = sum(in_thread(app, "prune", lambda: prune_pass.prune(raw_before, minutes_before, None))
                          for raw_before, minutes_before in runs)
            found[part] = {**summary(writer), "deleted": deleted}
        db.engine.dispose()
    return found


def worker(arguments):
    """Run one step in this process (fill, or prune one copy); print its result as one JSON line."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    if arguments.worker == "fill":
        print(json.dumps(fill(arguments.path, arguments.agents, arguments.containers, arguments.start)))
    else:
        rows, pushes = (int(size) for size in arguments.worker.split("/"))
        print(json.dumps(prune_copy(arguments.path, rows, pushes, arguments.start)))


def step(name, path, arguments, start):
    """Run one step in a fresh process; return what it printed."""
    answer = subprocess.run([sys.executable, __file__, "--worker", name, "--path", str(path), "--start", str(start),
                             "--agents", str(arguments.agents), "--containers", str(arguments.containers)],
                            capture_output=True, text=True)
    if answer.returncode:
        raise SystemExit(f"step {name} failed:\n{answer.stderr[-3000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000/50,250/50", help="PRUNE_ROWS/PRUNE_PUSHES pairs to compare")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        return worker(arguments)
    start = int(time.time()) // HOUR * HOUR - 3 * HOUR
    sizes = arguments.sizes.split(",")
    with tempfile.TemporaryDirectory() as work:
        filled = Path(work) / "filled.db"
        step("fill", filled, arguments, start)
        rounds = {size: [] for size in sizes}
        for _ in range(arguments.rounds):
            for size in sizes:
                copy = Path(work) / f"copy-{size.replace('/', '-')}.db"
                for suffix in ("", "-wal"):  # the filler closed it, so its log is in the file: if not, copied too
                    if Path(f"{filled}{suffix}").exists():
                        shutil.copyfile(f"{filled}{suffix}", f"{copy}{suffix}")
                rounds[size].append(step(str(size), copy, arguments, start))
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{copy}{suffix}").unlink(missing_ok=True)
    print(f"{arguments.agents} agents x {arguments.containers} containers every 15 s for 2 h; the first hour "
          f"pruned, median of {arguments.rounds} alternating rounds (by p99); load average "
          f"{Path('/proc/loadavg').read_text().split()[0]} at the end")
    print(f"{'writer':<30}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}{'sum ms':>9}{'transactions':>14}"
          f"{'rows':>8}")
    row = "{:<30}{p50:8.2f}{p90:8.2f}{p99:8.2f}{max:8.2f}{sum:9.0f}{transactions:14d}{deleted:>8}"
    for part in ("pushes", "minutes"):
        for size in sizes:
            p99s = [found[part]["p99"] for found in rounds[size]]
            median = rounds[size][p99s.index(statistics.median_low(p99s))][part]
            print(row.format(f"prune {part}, sizes {size}", **median))


if __name__ == "__main__":
    main()
