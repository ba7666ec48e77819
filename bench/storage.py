"""What a year of agents costs on disk: bytes per agent per day in each tier, and the steady-state size.

    python bench/storage.py                      # 20 agents x 30 containers, one simulated day
    python bench/storage.py --agents 50 --rollup-every 60

Fills a fresh SQLite database (schema made by create_app) with --agents agents pushing 30
containers every 15 s for a simulated day ending now: the push rows are the product's own (blobs
made by kubewatch.packing.pack from bench/history.py's random walk, as store_push makes them),
written in the order a live server receives them, and the rollup job (kubewatch.rollup_job.run)
runs every --rollup-every simulated seconds, as its timer does, so the tiers' trees grow as on a
live server. Then it measures each tier's tables and indexes with SQLite's dbstat: the raw tier
(pushes), the minute and hour rollups (one table, split by their rows), and the descriptions
(agents, containers). It prints the bytes per agent per day of each tier and, multiplied by the
default retentions (raw 48 h, minutes 14 d, hours 400 d), the database's steady-state size for
10, 100, 1,000 and 10,000 agents.
"""

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import history

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kubewatch import create_app, rollup_job  # noqa: E402  (run from a checkout)
from kubewatch.accounts import add_user  # noqa: E402
from kubewatch.api.agents import new_agent_id  # noqa: E402
from kubewatch.config import DEFAULTS  # noqa: E402
from kubewatch.db import db  # noqa: E402
from kubewatch.repository import agents as agent_rows  # noqa: E402

INTERVAL, DAY = 15, 86400
FLEETS = (10, 100, 1_000, 10_000)
DESCRIPTION_TABLES = ("agents", "containers")


def fill(path, agent_count, containers, rollup_every, days):
    """Push days of every agent's samples ending now, rolling up every rollup_every s; return the seconds spent."""
    started, now = time.perf_counter(), int(time.time())
    first = now - days * DAY
    app = create_app(history.app_config(path))
    with app.app_context():
        org_id = add_user(history.VIEWER, history.PASSWORD, "bench", "viewer")
        ids = [agent_rows.register_agent(org_id, f"bench-{i:03d}", f"node-{i:03d}", "1.4.2", "docker", first,
                                         new_agent_id) for i in range(agent_count)]
        db.engine.dispose()
    sets = [history.data_set(i, containers) for i in range(agent_count)]
    rngs = [random.Random(f"walk {i}") for i in range(agent_count)]
    states = [history.first_state(sets[i], rngs[i]) for i in range(agent_count)]
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        for i, agent_id in enumerate(ids):
            rng = random.Random(f"ids {i}")
            conn.executemany("INSERT INTO containers (agent_id, key, runtime_id, name, image, status, first_seen, "
                             "described_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)", [
                (agent_id, key, f"{rng.getrandbits(48):012x}", c.name, c.image, first, first)
                for key, c in enumerate(sets[i], start=1)])
        conn.execute("COMMIT")
    next_ts = [first - (first - history.phase(i)) % INTERVAL + INTERVAL for i in range(agent_count)]
    for period_end in range(first + rollup_every, now + 1, rollup_every):
        arrivals = []
        for i in range(agent_count):
            count = max(0, (period_end - next_ts[i] + INTERVAL - 1) // INTERVAL)
            blobs = history.pushes_of(sets[i], states[i], next_ts[i], count, rngs[i])[0]
            arrivals += [(next_ts[i] + n * INTERVAL, i, blob) for n, blob in enumerate(blobs)]
            next_ts[i] += count * INTERVAL
        arrivals.sort(key=lambda arrival: arrival[:2])  # as a live server receives them
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO pushes (agent_id, ts, received_at, containers) VALUES (?, ?, ?, ?)",
                             [(ids[i], ts, ts + 1, blob) for ts, i, blob in arrivals])
            conn.execute("COMMIT")
        with app.app_context():
            rollup_job.run(app.config, period_end)
        if (period_end - first) % 21600 < rollup_every:
            print(f"  {(period_end - first) / 3600:.0f} h of {days * 24} filled, {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
    with app.app_context():
        db.engine.dispose()
    return time.perf_counter() - started


def measure(path, agent_count, containers, days):
    """Return bytes per agent per day in the raw, minute and hour tiers, and per agent in descriptions."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # Each table with its indexes (its primary key's and unique constraints' included).
        table = dict(conn.execute("SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat AS d JOIN sqlite_master AS m "
                                  "ON m.name = d.name GROUP BY m.tbl_name").fetchall())
        steps = dict(conn.execute("SELECT step, count(*) FROM container_rollups GROUP BY step").fetchall())
        pushes = conn.execute("SELECT count(*), SUM(rolled_up = 0) FROM pushes").fetchone()
    # Minutes and hours share one table, row for row alike: a row's bytes times a day's rows of each
    # (a simulated day touches 25 hours, a steady one adds 24).
    per_row = table.get("container_rollups", 0) / max(1, sum(steps.values()))
    per_day = agent_count * days
    return {"raw": table.get("pushes", 0) / per_day,
            "minute": per_row * containers * DAY / 60, "hour": per_row * containers * DAY / 3600,
            "descriptions": sum(table.get(name, 0) for name in DESCRIPTION_TABLES) / agent_count,
            "pushes": pushes[0], "pending": pushes[1], "minute_rows": steps.get(60, 0),
            "hour_rows": steps.get(3600, 0), "file": os.path.getsize(path)}


def projection(figures, config=DEFAULTS):
    """Return each tier's kept days and the steady-state bytes of one agent, tier by tier and in all."""
    kept = {"raw": config["RAW_RETENTION"] / DAY, "minute": config["MINUTE_RETENTION"] / DAY,
            "hour": config["HOUR_RETENTION"] / DAY}
    per_agent = {tier: figures[tier] * days for tier, days in kept.items()}
    per_agent["descriptions"] = figures["descriptions"]
    return kept, per_agent


def size(n_bytes):
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}"
    return f"{n_bytes:.0f} B"


def report(figures, args, seconds):
    kept, per_agent = projection(figures)
    print(f"{args.agents} agents x {args.containers} containers every {INTERVAL} s for {args.days} simulated day(s), "
          f"rolled up every {args.rollup_every} s: {figures['pushes']} pushes ({figures['pending']} not rolled up "
          f"yet), {figures['minute_rows']} minute and {figures['hour_rows']} hour rows; file "
          f"{size(figures['file'])}; filled in {seconds:.0f} s\n")
    print("| tier | bytes per agent per day | kept | per agent at steady state |")
    print("|---|---:|---:|---:|")
    for tier, name in (("raw", "raw pushes"), ("minute", "minute rollups"), ("hour", "hour rollups")):
        print(f"| {name} | {figures[tier]:,.0f} | {kept[tier]:g} d | {size(per_agent[tier])} |")
    print(f"| descriptions (agent, containers) | {figures['descriptions']:,.0f} per agent | while kept | "
          f"{size(per_agent['descriptions'])} |")
    total = sum(per_agent.values())
    print(f"| all | | | {size(total)} |\n")
    print("| agents | raw (48 h) | minutes (14 d) | hours (400 d) | descriptions | database |")
    print("|---:|---:|---:|---:|---:|---:|")
    for fleet in FLEETS:
        print(f"| {fleet:,} | " + " | ".join(size(fleet * per_agent[tier]) for tier in
                                          ("raw", "minute", "hour", "descriptions")) + f" | {size(fleet * total)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--days", type=int, default=1, help="simulated days of pushes, ending now (at most 2)")
    parser.add_argument("--rollup-every", type=int, default=60, help="simulated seconds between rollup runs")
    parser.add_argument("--db", help="keep the filled database in this file (default: a temporary one)")
    args = parser.parse_args()
    if not 1 <= args.days <= 2:
        parser.error("--days: the raw tier keeps 48 h, so 1 or 2")
    with tempfile.TemporaryDirectory() as work:
        path = args.db or str(Path(work) / "storage.db")
        if os.path.exists(path):
            parser.error(f"{path} exists: name a new file")
        seconds = fill(path, args.agents, args.containers, args.rollup_every, args.days)
        report(measure(path, args.agents, args.containers, args.days), args, seconds)


if __name__ == "__main__":
    main()
