"""What a backup does to pushes: push latency with and without `flask backup` running, side by side.

    python bench/backup.py                      # a database of about 300 MB, 16 connections, 10 s a phase
    python bench/backup.py --filler-mb 1000 --seconds 20

Starts the real server (`python app.py`, rollup timer off) on a fresh SQLite file, grows the file
with a table of random bytes (the backup copies every page, whatever it holds) while the server
runs, then pushes back to back from keep-alive connections in alternating phases: one without a
backup, one during which `flask backup` copies the database, as an operator would run it. Prints
each phase's pushes, errors, latency percentiles and worst push, and what the backup printed.
"""

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import load
from ingest import ROOT, Server, ms, register_agents


def grow(path, megabytes):
    """Add a table of random bytes to the database at path, a megabyte a row."""
    with sqlite3.connect(path, timeout=60) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_filler (data BLOB)")
        for _ in range(megabytes):
            conn.execute("INSERT INTO bench_filler VALUES (?)", (os.urandom(1024 * 1024),))


def phase(server, agents, connections, seconds, during=None):
    """Push for seconds, running during() in a thread meanwhile; return the tally and what during() returned."""
    tally, result = load.Tally(), []
    worker = threading.Thread(target=lambda: result.append(during())) if during else None
    if worker:
        worker.start()
    asyncio.run(load.closed_loop("127.0.0.1", server.port, lambda i: agents[i].push_request(), connections,
                                 seconds, tally))
    if worker:
        worker.join()
    return tally, result[0] if result else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filler-mb", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        server = Server("app.py", work, 1, ROLLUP_INTERVAL=0)
        try:
            grow(server.db, args.filler_mb)
            agents = register_agents(server, args.connections, 50, "backup-bench", int(time.time()) - 40 * 3600)
            env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEWATCH_")}
            env.update({"KUBEWATCH_CONFIG": os.path.join(work, "empty.toml"),
                        "KUBEWATCH_DATABASE_URL": f"sqlite:///{server.db}", "KUBEWATCH_SECRET_KEY": "bench"})

            def backup(round_number):
                def run():
                    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "backup",
                                           os.path.join(work, f"copy-{round_number}.db")],
                                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
                    assert done.returncode == 0, done.stderr
                    return done.stdout.strip()
                return run

            rows = []
            for round_number in range(args.rounds):  # alternate, so a noisy moment hits both alike
                rows.append(("no backup", *phase(server, agents, args.connections, args.seconds)))
                rows.append(("flask backup", *phase(server, agents, args.connections, args.seconds,
                                                    backup(round_number))))
        finally:
            server.stop()
    print(f"{args.connections} keep-alive connections, 50 containers a push, {args.seconds:.0f} s a phase, "
          f"database grown by {args.filler_mb} MB")
    print(f"{'phase':<14} {'pushes/s':>9} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  backup")
    for name, tally, said in rows:
        print(f"{name:<14} {len(tally.latencies) / args.seconds:>9.0f} {tally.errors:>6} "
              f"{ms(tally.percentile(50)):>7} {ms(tally.percentile(99)):>7} {ms(max(tally.latencies)):>7}  {said}")


if __name__ == "__main__":
    main()
