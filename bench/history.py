"""Reading history back: the agent list, an agent's containers and three series, on a full database.

    python bench/history.py                          # 200 agents x 30 containers x 48 h, then the table
    python bench/history.py --db /tmp/h.db --reuse   # keep the filled file: a second run skips the fill
    python bench/history.py --profile                # also profile each query in-process (cProfile)

Fills a fresh SQLite database (schema made by create_app) with one organization, a viewer and
200 agents, each with 48 h of 15-second pushes of 30 containers ending now, their one-minute and
one-hour rollups, and hour rollups for the 28 days before, so that 30 days at one hour has 30 days
to read. Serves it with the real server (waitress on loopback, rollup timer off, as
bench/ingest.py starts it) and times over one keep-alive connection, on random agents and
containers: the agent list, an agent's containers, a container's last hour raw, a day at 1 m and
30 days at 1 h. Every answer is checked: status, number of points, and rollups against the raw
samples they summarize. Separately, the first million container samples are written the way a
live server writes them (200 agents pushing in turn), rolled up, and measured on disk with dbstat.
Exits 1 when a check fails.

How the fill is fast and still the product's own rows:
- Push rows go in with sqlite3 directly, their blobs made by kubewatch.packing.pack exactly as
  store_push makes them, from a random walk per container: cpuPercent with 2 decimals, memoryMB
  with 1, a fixed memoryLimitMB, network counters that grow and reset when the container restarts
  (rarely), restartCount.
- Rolling up 48 h of one agent with roll_up_agent takes several seconds of one core, so 200
  agents would take most of the run. Instead --distinct data sets (default 20) are made in worker
  processes, each stored through the product (create_app on a private in-memory database, its
  containers described as a push describes them) and rolled up there by
  kubewatch.rollup_chunks.roll_up_agent itself (the fill stops if a container got no minute
  rows); each data set's push and rollup rows are then copied under the ids of agents/distinct
  agents. roll_up_agent reads only the agent's own rows, so the copies are the rows it would
  write for those agents. With --distinct 200 every agent has data of its own.
- The 28 days before the raw window are hour rows made with kubewatch.buckets.to_row from plausible
  summaries of 240 samples. Minute rows exist for the raw window only: the 12 more days a live
  server keeps would grow the file, and no query here reads them.
- Last, the pushes since the fill started are written and kubewatch.rollup_job.run, the rollup job,
  rolls them up and prunes past the raw tier's retention: the database is as a live one, up to
  its current minute, which is still waiting for its rollup.
"""

import argparse
import cProfile
import io
import math
import multiprocessing
import os
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import requests

import ingest
import load

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kubewatch import buckets, create_app, packing, rollup_chunks, rollup_job  # noqa: E402  (run from a checkout)
from kubewatch.accounts import add_user  # noqa: E402
from kubewatch.api.agents import new_agent_id  # noqa: E402
from kubewatch.api.fields import EpochTime  # noqa: E402
from kubewatch.api.precision import PLACES, RATE_PLACES  # noqa: E402
from kubewatch.db import db  # noqa: E402
from kubewatch.kinds import CONTAINERS  # noqa: E402
from kubewatch.repository import agents as agent_rows  # noqa: E402

INTERVAL, MINUTE, HOUR, DAY = 15, 60, 3600, 86400
VIEWER, PASSWORD = "viewer@bench.local", "bench-password"
GOAL_MS, GOAL_BYTES = 30, 40
# A push this far behind now is written again rather than caught up (--reuse).
MAX_CATCH_UP = 6 * HOUR
RESTART_CHANCE = 1e-5  # per container and push: about one restart in 17 days
ROLLUP_COLUMNS = buckets.rollup_columns(CONTAINERS)
INSERT_ROLLUP = (f"INSERT INTO container_rollups (agent_id, key, step, bucket, {', '.join(ROLLUP_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * (4 + len(ROLLUP_COLUMNS)))})")
WORKLOADS = ("api", "web", "worker", "postgres", "redis", "nginx", "queue", "cron", "auth", "search")
QUERIES = ("agent list", "containers of an agent", "1 h raw (default range)", "24 h at step 1m", "30 d at step 1h")


def app_config(path):
    """Return the settings of an app on the database file at path (in memory for None), timer off."""
    return {"DATABASE_URL": f"sqlite:///{path}" if path else "sqlite://", "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING", "ROLLUP_INTERVAL": 0}


def log(message):
    """Tell how the run goes, on standard error: the table alone goes to standard output."""
    print(message, file=sys.stderr, flush=True)


# ---- what the containers of a data set do -------------------------------------------------------

class Container(NamedTuple):
    name: str
    image: str
    cpu: int  # mean, in hundredths of a percent
    cpu_swing: int
    memory: int  # baseline, in tenths of a MB
    limit: float
    rx: int  # mean bytes received per push
    tx: int
    restarts: int  # when the data set starts


def data_set(index, count):
    """Return the containers of data set index: the same every time for the same index."""
    rng = random.Random(f"data set {index}")
    found = []
    for i in range(count):
        workload = WORKLOADS[i % len(WORKLOADS)]
        busy = rng.random() < 0.3
        cpu = rng.randint(2000, 15000) if busy else rng.randint(5, 300)
        rate = rng.randint(20_000, 5_000_000) if busy else rng.randint(50, 5_000)
        found.append(Container(f"{workload}-{i}", f"registry.lan/{workload}:1.{rng.randint(0, 40)}", cpu,
                               max(4, cpu // (3 if busy else 1)), rng.randint(200, 30_000),
                               rng.choice((256.0, 512.0, 1024.0, 2048.0, 4096.0)), rate * INTERVAL,
                               rng.randint(1, 3) * rate * INTERVAL // 4, rng.choice((0,) * 8 + (1, 2, 7))))
    return found


def first_state(containers, rng):
    """Return each container's [cpu, memory, rx, tx, restarts] as the data set starts."""
    return [[c.cpu, c.memory, rng.getrandbits(32), rng.getrandbits(30), c.restarts] for c in containers]


def describe(conn, agent_id, containers, rng, ts):
    """Write the agent's containers as the push path describes them: keys 1 to len(containers), in order."""
    conn.executemany("INSERT INTO containers (agent_id, key, runtime_id, name, image, status, first_seen, described_at) "
                     "VALUES (?, ?, ?, ?, ?, 'running', ?, ?)", [
        (agent_id, key, f"{rng.getrandbits(48):012x}", c.name, c.image, ts, ts)
        for key, c in enumerate(containers, start=1)])


def state_of(blob):
    """Return the walk's state from a push's blob, to go on from it."""
    values = packing.unpack(CONTAINERS.metrics, blob)
    return [[round(cpu * 100), round(memory * 10), rx, tx, restarts]
            for _, (cpu, memory, _limit, rx, tx, restarts) in sorted(values.items())]


def pushes_of(containers, state, first_ts, count, rng):
    """Walk state on by count pushes from first_ts; return their blobs, and seconds spent making and packing."""
    keys, rand = list(range(1, len(containers) + 1)), rng.random
    blobs, making, packing_s = [], 0.0, 0.0
    for _ in range(count):
        started = time.perf_counter()
        rows = []
        for c, s in zip(containers, state):
            cpu = s[0] + ((c.cpu - s[0]) >> 2) + int((rand() - 0.5) * c.cpu_swing)
            s[0] = cpu if cpu > 0 else 0
            s[1] = max(10, s[1] + ((c.memory - s[1]) >> 6) + int((rand() - 0.5) * (c.memory >> 6)))
            if rand() < RESTART_CHANCE:
                s[1], s[2], s[3], s[4] = c.memory >> 1, 0, 0, s[4] + 1  # counters start again from zero
            s[2] += int(c.rx * (0.5 + rand()))
            s[3] += int(c.tx * (0.5 + rand()))
            rows.append((s[0] / 100, s[1] / 10, c.limit, s[2], s[3], s[4]))
        packed = time.perf_counter()
        blobs.append(packing.pack(CONTAINERS.metrics, keys, rows))
        making, packing_s = making + packed - started, packing_s + time.perf_counter() - packed
    return blobs, making, packing_s


def history_rows(containers, first_hour, hours, rng):
    """Return plausible hour rollup rows (key, step, bucket, *values) for hours from first_hour."""
    rows = []
    samples = HOUR // INTERVAL
    for key, c in enumerate(containers, start=1):
        for bucket in range(first_hour, first_hour + hours * HOUR, HOUR):
            daily = 1 + 0.3 * math.sin(2 * math.pi * (bucket % DAY) / DAY)
            cpu = c.cpu / 100 * daily * rng.uniform(0.9, 1.1)
            memory = c.memory / 10 * rng.uniform(0.97, 1.03)
            rx, tx = (rate / INTERVAL * daily * rng.uniform(0.8, 1.2) for rate in (c.rx, c.tx))
            summary = [samples, (cpu * samples, cpu * rng.uniform(1.3, 2.5), samples),
                       (memory * samples, memory * 1.02, samples), (bucket + HOUR - 1, c.limit),
                       (rx * samples, samples), (tx * samples, samples), (bucket + HOUR - 1, c.restarts)]
            rows.append((key, HOUR, bucket, *buckets.to_row(CONTAINERS, summary)))
    return rows


# ---- the worker processes: a data set, stored and rolled up by the product ----------------------

_worker_app = None
SCRATCH_AGENT = "agent_scratch"


def _start_worker():
    """Give this worker process an app on a private in-memory database, with the agent its data sets use."""
    global _worker_app
    _worker_app = create_app(app_config(None))
    with _worker_app.app_context(), closing(db.engine.raw_connection()) as conn:
        conn.driver_connection.execute("INSERT INTO organizations VALUES ('org_scratch', 'scratch', 0)")
        conn.driver_connection.execute("INSERT INTO agents (id, org_id, name, hostname, created_at) "
                                       "VALUES (?, 'org_scratch', 'scratch', 'scratch', 0)", (SCRATCH_AGENT,))
        conn.driver_connection.commit()


def make_pushes(plan):
    """Return the blobs of plan = (data set, first_ts, count, containers), for the first-million database."""
    index, first_ts, count, container_count = plan
    containers, rng = data_set(index, container_count), random.Random(f"walk {index} {first_ts}")
    return pushes_of(containers, first_state(containers, rng), first_ts, count, rng)[0]


def rolled_up_data_set(plan):
    """Make a data set's pushes, roll them up with roll_up_agent; return its rows and where the time went."""
    index, first_ts, count, before, history_from, container_count = plan
    containers, rng = data_set(index, container_count), random.Random(f"walk {index} {first_ts}")
    history = history_rows(containers, history_from, (first_ts - first_ts % HOUR - history_from) // HOUR, rng)
    blobs, making, packing_s = pushes_of(containers, first_state(containers, rng), first_ts, count, rng)
    with _worker_app.app_context():
        with closing(db.engine.raw_connection()) as conn:
            raw = conn.driver_connection
            raw.executemany("INSERT INTO pushes (agent_id, ts, received_at, containers) VALUES (?, ?, ?, ?)",
                            [(SCRATCH_AGENT, first_ts + i * INTERVAL, first_ts + i * INTERVAL + 1, blob)
                             for i, blob in enumerate(blobs)])
            raw.executemany(INSERT_ROLLUP, [(SCRATCH_AGENT, *row) for row in history])
            # The job rolls up the keys the agent described (as every push does first), and no other.
            describe(raw, SCRATCH_AGENT, containers, random.Random(f"ids {index}"), history_from)
            raw.commit()
        started = time.perf_counter()
        rolled = rollup_chunks.roll_up_agent(SCRATCH_AGENT, before)
        rolling = time.perf_counter() - started
        with closing(db.engine.raw_connection()) as conn:
            raw = conn.driver_connection
            pushes = raw.execute("SELECT ts, received_at, rolled_up, containers FROM pushes WHERE agent_id = ? "
                                 "ORDER BY ts", (SCRATCH_AGENT,)).fetchall()
            summed = raw.execute(f"SELECT key, step, bucket, {', '.join(ROLLUP_COLUMNS)} FROM container_rollups "
                                 "WHERE agent_id = ? ORDER BY key, step, bucket", (SCRATCH_AGENT,)).fetchall()
            raw.execute("DELETE FROM pushes WHERE agent_id = ?", (SCRATCH_AGENT,))
            raw.execute("DELETE FROM container_rollups WHERE agent_id = ?", (SCRATCH_AGENT,))
            raw.execute("DELETE FROM containers WHERE agent_id = ?", (SCRATCH_AGENT,))
            raw.commit()
    # Checked here, where it goes wrong: a copied data set without its minutes would be timed as if whole.
    if {row[0] for row in summed if row[1] == MINUTE} != set(range(1, len(containers) + 1)):
        raise RuntimeError(f"data set {index}: roll_up_agent rolled up {rolled} pushes but left containers "
                           "without minute rows")
    return {"index": index, "pushes": pushes, "rollups": summed, "making": making, "packing": packing_s,
            "rolling": rolling, "rolled_up": rolled}


# ---- filling the database ----------------------------------------------------------------------

def bulk_connection(path):
    """Return a connection for filling: no journal, a big cache; only the fill may use the file."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -1000000", "temp_store = MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def phase(index):
    """Return the second of the interval at which data set index pushes: agents are not in step."""
    return index * 7 % INTERVAL


def fill(path, args, pool):
    """Fill a fresh database at path; return where the time went."""
    started, now = time.perf_counter(), int(time.time())
    count = args.hours * HOUR // INTERVAL
    first_hour = now - args.hours * HOUR - (now - args.hours * HOUR) % HOUR
    history_from = first_hour - args.history_days * DAY
    app = create_app(app_config(path))
    with app.app_context():
        org_id = add_user(VIEWER, PASSWORD, "bench", "viewer")
        ids = [agent_rows.register_agent(org_id, f"bench-{i:03d}", f"node-{i:03d}", "1.4.2", "docker", history_from,
                                         new_agent_id) for i in range(args.agents)]
        db.engine.dispose()
    conn = bulk_connection(path)
    conn.execute("BEGIN")
    for i, agent_id in enumerate(ids):
        describe(conn, agent_id, data_set(i % args.distinct, args.containers), random.Random(f"ids {i}"), history_from)
    conn.execute("COMMIT")
    conn.execute("CREATE TEMP TABLE set_pushes AS SELECT ts, received_at, rolled_up, containers FROM pushes WHERE 0")
    conn.execute(f"CREATE TEMP TABLE set_rollups AS SELECT key, step, bucket, {', '.join(ROLLUP_COLUMNS)} "
                 "FROM container_rollups WHERE 0")
    plans = []
    for d in range(args.distinct):
        last = now - (now - phase(d)) % INTERVAL
        plans.append((d, last - (count - 1) * INTERVAL, count, now - now % MINUTE, history_from, args.containers))
    spent = {"making": 0.0, "packing": 0.0, "rolling": 0.0, "writing": 0.0, "rolled_up": 0}
    for done, made in enumerate(pool.imap_unordered(rolled_up_data_set, plans), start=1):
        writing = time.perf_counter()
        copy_data_set(conn, made, ids[made["index"]::args.distinct], args.containers)
        spent["writing"] += time.perf_counter() - writing
        for key in ("making", "packing", "rolling", "rolled_up"):
            spent[key] += made[key]
        log(f"  data set {done}/{args.distinct} written for {len(ids[made['index']::args.distinct])} agents: "
            f"{len(made['pushes'])} pushes, {len(made['rollups'])} rollup rows; roll_up_agent "
            f"{made['rolling']:.1f} s; {time.perf_counter() - started:.0f} s so far")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    spent["seconds"] = time.perf_counter() - started
    return spent


def copy_data_set(conn, made, agent_ids, containers):
    """Write one data set's pushes and rollups under each of agent_ids, with its agents' last push."""
    conn.execute("BEGIN")
    conn.execute("DELETE FROM set_pushes")
    conn.execute("DELETE FROM set_rollups")
    conn.executemany("INSERT INTO set_pushes VALUES (?, ?, ?, ?)", made["pushes"])
    conn.executemany(f"INSERT INTO set_rollups VALUES ({', '.join('?' * (3 + len(ROLLUP_COLUMNS)))})",
                     made["rollups"])
    last_ts, last_received = made["pushes"][-1][:2]
    columns = ", ".join(ROLLUP_COLUMNS)
    for agent_id in agent_ids:
        conn.execute("INSERT INTO pushes (agent_id, ts, received_at, rolled_up, containers) "
                     "SELECT ?, ts, received_at, rolled_up, containers FROM set_pushes ORDER BY rowid", (agent_id,))
        conn.execute(f"INSERT INTO container_rollups (agent_id, key, step, bucket, {columns}) "
                     f"SELECT ?, key, step, bucket, {columns} FROM set_rollups ORDER BY rowid", (agent_id,))
        conn.execute("UPDATE agents SET last_seen = ?, last_push_ts = ?, container_count = ? WHERE id = ?",
                     (last_received, last_ts, containers, agent_id))
    conn.execute("COMMIT")


def last_pushes(conn, args):
    """Return [(agent ids, (ts, blob) of their last push)] per data set, or why the database cannot be caught up."""
    ids = [row[0] for row in conn.execute("SELECT id FROM agents ORDER BY name")]
    if len(ids) != args.agents or not conn.execute("SELECT 1 FROM users WHERE email = ?", (VIEWER,)).fetchone():
        return f"it does not hold the viewer and {args.agents} agents"
    found = []
    for d in range(args.distinct):
        group = ids[d::args.distinct]
        last = [conn.execute("SELECT ts, containers FROM pushes WHERE agent_id = ? ORDER BY ts DESC LIMIT 1",
                             (agent_id,)).fetchone() for agent_id in group]
        if None in last or any(row != last[0] for row in last):
            return f"the agents of data set {d} differ (was it filled with another --distinct?)"
        if time.time() - last[0][0] > MAX_CATCH_UP:
            return f"its last push is {(time.time() - last[0][0]) / 3600:.1f} h old"
        found.append((group, last[0]))
    return found


def catch_up(path, args):
    """Write every agent's pushes since its last one up to now and run the rollup job; return what it did."""
    now = int(time.time())
    with closing(bulk_connection(path)) as conn:
        written = _write_since_last_push(conn, args, now)
    app = create_app(app_config(path))
    with app.app_context():
        started = time.perf_counter()
        done = rollup_job.run(app.config, now)
        seconds = time.perf_counter() - started
        db.engine.dispose()
    return {"written": written, "rolled_up": done.rolled_up, "pruned": done.pruned, "seconds": seconds}


def _write_since_last_push(conn, args, now):
    """Write each data set's pushes from its last one up to now, under each of its agents; return how many."""
    groups = last_pushes(conn, args)
    if isinstance(groups, str):
        raise ValueError(f"cannot catch the database up: {groups}")
    written = 0
    conn.execute("BEGIN")
    for d, (group, (last_ts, blob)) in enumerate(groups):
        count = (now - last_ts) // INTERVAL
        blobs = pushes_of(data_set(d, args.containers), state_of(blob), last_ts + INTERVAL, count,
                          random.Random(f"walk {d} {last_ts}"))[0]
        for agent_id in group:
            conn.executemany("INSERT INTO pushes (agent_id, ts, received_at, containers) VALUES (?, ?, ?, ?)",
                             [(agent_id, last_ts + (i + 1) * INTERVAL, last_ts + (i + 1) * INTERVAL + 1, b)
                              for i, b in enumerate(blobs)])
            if count:
                conn.execute("UPDATE agents SET last_seen = ?, last_push_ts = ? WHERE id = ?",
                             (last_ts + count * INTERVAL + 1, last_ts + count * INTERVAL, agent_id))
        written += count * len(group)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = WAL")
    return written


# ---- bytes on disk -----------------------------------------------------------------------------

RAW_TREES = ("pushes", "sqlite_autoindex_pushes_1", "pushes_to_roll_up")


def storage(path, samples):
    """Return the raw tier's bytes (table and its indexes, by dbstat), the file's, and bytes a sample."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        trees = {name: conn.execute("SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = ?",
                                    (name,)).fetchone()[0] for name in RAW_TREES}
    raw, whole = sum(trees.values()), os.path.getsize(path)
    return {"trees": trees, "raw": raw, "file": whole, "samples": samples, "per_sample": raw / samples,
            "file_per_sample": whole / samples}


def first_million(workdir, args, pool):
    """Store the first million container samples as a live server does, roll them up; return their storage."""
    per_agent = math.ceil(1_000_000 / (args.agents * args.containers))
    path = workdir / "first-million.db"
    now = int(time.time())
    app = create_app(app_config(path))
    with app.app_context():
        org_id = add_user(VIEWER, PASSWORD, "bench", "viewer")
        ids = [agent_rows.register_agent(org_id, f"bench-{i:03d}", f"node-{i:03d}", "1.4.2", "docker", now,
                                         new_agent_id) for i in range(args.agents)]
    firsts = [now - (now - phase(i)) % INTERVAL - (per_agent - 1) * INTERVAL for i in range(args.agents)]
    blobs = pool.map(make_pushes, [(i, firsts[i], per_agent, args.containers) for i in range(args.agents)])
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        for i, agent_id in enumerate(ids):
            describe(conn, agent_id, data_set(i, args.containers), random.Random(f"ids {i}"), firsts[i])
        # In the order a live server receives them: every agent's push of one interval, then the next.
        arrivals = sorted((firsts[i] + n * INTERVAL, i, n) for i in range(args.agents) for n in range(per_agent))
        conn.executemany("INSERT INTO pushes (agent_id, ts, received_at, containers) VALUES (?, ?, ?, ?)",
                         [(ids[i], ts, ts + 1, blobs[i][n]) for ts, i, n in arrivals])
        conn.execute("COMMIT")
    with app.app_context():
        started = time.perf_counter()
        done = rollup_job.run(app.config, now)
        rolling = time.perf_counter() - started
        db.engine.dispose()
    with closing(sqlite3.connect(path)) as conn:
        samples = sum(len(packing.unpack(CONTAINERS.metrics, blob))
                      for (blob,) in conn.execute("SELECT containers FROM pushes"))
    return {**storage(path, samples), "rolling": rolling, "rolled_up": done.rolled_up, "agents": args.agents}


# ---- the queries -------------------------------------------------------------------------------

class Span(NamedTuple):
    """What one agent's data covers: its raw pushes, a 15 s grid, and where each rollup tier starts."""

    first: int
    last: int
    minutes_from: int
    hours_from: int
    containers: list


def spans(path):
    """Return {agent_id: Span} read from the database."""
    found = {}
    with closing(sqlite3.connect(path)) as conn:
        for (agent_id,) in conn.execute("SELECT id FROM agents").fetchall():
            first, last = conn.execute("SELECT MIN(ts), MAX(ts) FROM pushes WHERE agent_id = ?", (agent_id,)).fetchone()
            tiers = [conn.execute("SELECT MIN(bucket) FROM container_rollups WHERE agent_id = ? AND key = 1 "
                                  "AND step = ?", (agent_id, step)).fetchone()[0] for step in (MINUTE, HOUR)]
            ids = [row[0] for row in conn.execute("SELECT runtime_id FROM containers WHERE agent_id = ? ORDER BY key",
                                                  (agent_id,))]
            found[agent_id] = Span(first, last, *tiers, ids)
    return found


def grid_count(span, low, high):
    """Return how many of the span's pushes lie in [low, high]."""
    low, high = max(low, span.first), min(high, span.last)
    if high < low:
        return 0
    return (high - span.first) // INTERVAL - (low - span.first + INTERVAL - 1) // INTERVAL + 1


def bucket_count(span, start, now, step):
    """Return how many buckets of step hold data from start to now: each tier has every bucket of its span."""
    first = max(start - start % step, span.minutes_from if step == MINUTE else span.hours_from)
    last = min(now, span.last)
    return max(0, (last - last % step - first) // step + 1)


def ask(session, url, name, agent_id, container_id, fleet):
    """Make one query; return (seconds, status, points, bytes, problem or None)."""
    span = fleet[agent_id]
    path, params = f"/api/v1/agents/{agent_id}", {}
    before = int(time.time())
    if name == QUERIES[0]:
        path = "/api/v1/agents"
    elif name == QUERIES[1]:
        path += "/containers"
    else:
        path += f"/containers/{container_id}/metrics"
        if name != QUERIES[2]:
            start = before - (DAY if name == QUERIES[3] else 30 * DAY)
            params = {"from": EpochTime.format(start), "step": "1m" if name == QUERIES[3] else "1h"}
    started = time.perf_counter()
    response = session.get(url + path, params=params, timeout=60)
    seconds = time.perf_counter() - started
    after = int(time.time())
    if response.status_code != 200:
        return seconds, response.status_code, 0, len(response.content), f"{name}: HTTP {response.status_code}"
    body = response.json()
    # The server reads its clock somewhere between before and after: any count it could have seen is right.
    nows = range(before, after + 1)
    if name == QUERIES[0]:
        points, expected = len(body), {len(fleet)}
        if any(agent["containerCount"] != len(span.containers) for agent in body):
            return seconds, 200, points, len(response.content), f"{name}: an agent without its containers"
    elif name == QUERIES[1]:
        points, expected = len(body), {len(span.containers)}
    elif name == QUERIES[2]:
        points, expected = len(body["points"]), {grid_count(span, now - HOUR, now) for now in nows}
    else:
        step = MINUTE if name == QUERIES[3] else HOUR
        points, expected = len(body["points"]), {bucket_count(span, start, now, step) for now in nows}
    problem = None if points in expected else f"{name} of {agent_id}: {points} points, expected {sorted(expected)}"
    return seconds, 200, points, len(response.content), problem


def cpu_seconds(pid):
    """Return the CPU time a process has used so far, user and system."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timings(NamedTuple):
    tally: load.Tally
    points: list
    sizes: list
    server_cpu: list  # one item: the server's CPU seconds over all timed requests


def time_queries(url, session, fleet, args, server_pid):
    """Ask each query warm-up + repeat times, in turn, on random agents and containers; return
    {query: Timings} and the problems found in the answers."""
    rng, agent_ids = random.Random(1), sorted(fleet)
    timings = {name: Timings(load.Tally(), [], [], [0.0]) for name in QUERIES}
    problems = []
    for round_number in range(args.warmup + args.repeat):
        for name in QUERIES:
            agent_id = rng.choice(agent_ids)
            cpu = cpu_seconds(server_pid)
            seconds, status, points, size, problem = ask(session, url, name, agent_id,
                                                         rng.choice(fleet[agent_id].containers), fleet)
            if problem:
                problems.append(problem)
            if round_number >= args.warmup:
                timing = timings[name]
                timing.tally.record(status, seconds)
                timing.points.append(points)
                timing.sizes.append(size)
                timing.server_cpu[0] += cpu_seconds(server_pid) - cpu
    return timings, problems


def iso_seconds(stamp):
    """Return epoch seconds of an API time such as 2026-06-16T10:00:00Z."""
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def close(a, b, places=PLACES):
    """Tell whether two API numbers of `places` decimals agree within the API's rounding (None only with None).

    The API rounds percentages and MiB to 2 decimals and rates to 1 (kubewatch/api/precision.py):
    the bucket is rounded, and so is each raw sample averaged here, each by up to half a step, so
    the two may differ by a whole step.
    """
    return a == b or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9,
                                                                       abs_tol=10 ** -places + 1e-9))


def check_values(url, session, fleet, checks=3):
    """Compare minute buckets with the raw samples they hold, and an hour with its minutes; return problems."""
    rng, problems = random.Random(2), []
    gauges = ("cpuPercent", "memoryMB")
    rates = ("networkRxBytesPerSec", "networkTxBytesPerSec")
    lasts = ("memoryLimitMB", "restartCount")
    for _ in range(checks):
        agent_id = rng.choice(sorted(fleet))
        path = f"{url}/api/v1/agents/{agent_id}/containers/{rng.choice(fleet[agent_id].containers)}/metrics"
        hour = int(time.time()) // HOUR * HOUR - HOUR
        raw = session.get(path, timeout=60).json()["points"]
        minutes = session.get(path, params={"from": EpochTime.format(hour), "step": "1m"}, timeout=60).json()["points"]
        hours = session.get(path, params={"from": EpochTime.format(hour), "step": "1h"}, timeout=60).json()["points"]
        first_raw, last_raw = iso_seconds(raw[0]["t"]), iso_seconds(raw[-1]["t"])
        compared = 0
        for point in minutes:
            bucket = iso_seconds(point["t"])
            if not first_raw <= bucket <= last_raw - MINUTE:
                continue  # the raw answer does not hold all of this minute's samples
            held = [p for p in raw if bucket <= iso_seconds(p["t"]) < bucket + MINUTE]
            wanted = {**{f: sum(p[f] for p in held) / len(held) for f in gauges + rates},
                      **{f + "Max": max(p[f] for p in held) for f in gauges}, **{f: held[-1][f] for f in lasts}}
            problems += [f"minute {point['t']} of {path}: {f} is {point[f]}, its samples say {v}"
                         for f, v in wanted.items() if not close(point[f], v, RATE_PLACES if f in rates else PLACES)]
            compared += 1
        in_hour = [p for p in minutes if hour <= iso_seconds(p["t"]) < hour + HOUR]
        if compared < 30 or len(in_hour) != MINUTE or iso_seconds(hours[0]["t"]) != hour:
            problems.append(f"{path}: too little to compare ({compared} minutes, {len(in_hour)} in the hour)")
            continue
        # Every minute of a whole hour holds four samples: the hour's average is the minutes' average.
        wanted = {"cpuPercent": sum(p["cpuPercent"] for p in in_hour) / MINUTE,
                  "cpuPercentMax": max(p["cpuPercentMax"] for p in in_hour),
                  "restartCount": in_hour[-1]["restartCount"]}
        problems += [f"hour {hours[0]['t']} of {path}: {f} is {hours[0][f]}, its minutes say {v}"
                     for f, v in wanted.items() if not close(hours[0][f], v)]
    return problems


def profile(path, fleet, repeat=20):
    """Print where each series query spends its time in-process (Flask test client, cProfile)."""
    app = create_app(app_config(path))
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"email": VIEWER, "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(3)
    for name, params in ((QUERIES[2], {}), (QUERIES[3], {"step": "1m", "from": DAY}),
                         (QUERIES[4], {"step": "1h", "from": 30 * DAY})):
        profiler = cProfile.Profile()
        for _ in range(repeat):
            agent_id = rng.choice(sorted(fleet))
            query = dict(params)
            if "from" in query:
                query["from"] = EpochTime.format(int(time.time()) - query["from"])
            url = f"/api/v1/agents/{agent_id}/containers/{rng.choice(fleet[agent_id].containers)}/metrics"
            profiler.enable()
            client.get(url, query_string=query, headers=headers)
            profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        log(f"\n---- profile of {name}, {repeat} requests in-process ----\n{out.getvalue()}")


# ---- the run -----------------------------------------------------------------------------------

def ms(seconds):
    """Return seconds as milliseconds for the table."""
    return f"{seconds * 1000:.1f}"


def spread(values):
    """Return the one value of a column, or its range when the values differ."""
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def print_table(tallies, small, big, filled, caught, server, started):
    """Print the timings, the bytes on disk and where the run's time went, on standard output."""
    print("| query | median ms | p95 ms | server CPU ms | points | response bytes | goal | met |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for name in QUERIES:
        timing = tallies[name]
        median = timing.tally.percentile(50)
        print(f"| {name} | {ms(median)} | {ms(timing.tally.percentile(95))} | "
              f"{ms(timing.server_cpu[0] / len(timing.sizes))} | {spread(timing.points)} | "
              f"{sorted(timing.sizes)[len(timing.sizes) // 2]:,} | median < {GOAL_MS} ms | "
              f"{'yes' if median * 1000 < GOAL_MS else 'NO'} |")
    print("(server CPU: the server process's CPU time per request, on average: close to the median, the time "
          "is the server's work; other load on the machine slows that work too)")
    print()
    for label, measured in ((f"first million samples, {small['agents']} agents pushing in turn", small),
                            (f"the whole {big['hours']} h raw tier", big)):
        trees = measured["trees"]
        print(f"bytes per raw container sample, {label} ({measured['samples']:,} samples, after rollups): "
              f"{measured['per_sample']:.1f} (table {trees['pushes']:,} + primary key index "
              f"{trees['sqlite_autoindex_pushes_1']:,} + pushes_to_roll_up {trees['pushes_to_roll_up']:,} bytes); "
              f"goal <= {GOAL_BYTES}: {'met' if measured['per_sample'] <= GOAL_BYTES else 'NOT met'}; "
              f"whole file {measured['file']:,} bytes = {measured['file_per_sample']:.1f} a sample, rollups included")
    print(f"database: {big['file'] / 1e9:.2f} GB, {big['pushes']:,} pushes ({big['samples']:,} container samples), "
          f"{big['rollup_rows']:,} container rollup rows")
    if filled:
        print(f"fill: {filled['seconds']:.0f} s wall for {filled['sets']} distinct data sets copied to "
              f"{filled['agents']} agents; in the workers: walk {filled['making']:.0f} s, "
              f"pack {filled['packing']:.0f} s, roll_up_agent {filled['rolling']:.0f} s "
              f"({filled['rolling'] / filled['sets']:.1f} s for one agent's {filled['rolled_up'] // filled['sets']:,} "
              f"pushes); writing {filled['writing']:.0f} s")
    else:
        print("fill: reused the database (--reuse)")
    print(f"catch-up to now: {caught['written']:,} pushes written, then kubewatch.rollup_job.run rolled up "
          f"{caught['rolled_up']:,} and pruned {caught['pruned']:,} rows in {caught['seconds']:.1f} s")
    print(f"first million: kubewatch.rollup_job.run rolled up {small['rolled_up']:,} pushes in {small['rolling']:.1f} s")
    print(f"server: waitress, {server['threads']} thread(s), peak RSS {server['rss']:.0f} MB; load average "
          f"{server['loads'][0]:.2f} before the timed queries, {server['loads'][1]:.2f} after ({os.cpu_count()} cores; "
          f"this run keeps about one busy); total run {time.perf_counter() - started:.0f} s")


def remove_database(path):
    """Delete a database file with its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def main():
    """Fill or reuse the database, store the first million samples, serve, time, check, print the table."""
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="the database file (default: in a temporary directory)")
    parser.add_argument("--reuse", action="store_true", help="use --db as filled by an earlier run, caught up to now")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--hours", type=int, default=48, help="of raw pushes (the raw tier's retention)")
    parser.add_argument("--history-days", type=int, default=28, help="of hour rollups before the raw pushes")
    parser.add_argument("--distinct", type=int, default=20, help="data sets made and rolled up; agents share them")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=50, help="timed requests of each query")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="waitress threads (the server's default: 1)")
    parser.add_argument("--profile", action="store_true", help="also profile each series query in-process")
    args = parser.parse_args()
    if args.reuse and not args.db:
        parser.error("--reuse needs --db")
    args.distinct = min(args.distinct, args.agents)

    with tempfile.TemporaryDirectory(prefix="kubewatch-history-") as work, \
            multiprocessing.get_context("spawn").Pool(args.workers, initializer=_start_worker) as pool:
        work = Path(work)
        path = (args.db or work / "kubewatch.db").resolve()
        if path.exists() and not args.reuse:
            sys.exit(f"{path} exists: pass --reuse to use it, or remove it")
        filled = None
        if path.exists():
            with closing(sqlite3.connect(path)) as conn:
                why = last_pushes(conn, args)
            if isinstance(why, str):
                log(f"cannot reuse {path}: {why}; filling it again")
                remove_database(path)
        if not path.exists():
            log(f"filling {path}: {args.agents} agents x {args.containers} containers x {args.hours} h "
                f"from {args.distinct} data sets, {args.workers} workers")
            filled = fill(path, args, pool)
            filled.update(sets=args.distinct, agents=args.agents)
            log(f"filled in {filled['seconds']:.0f} s")
        log("storing the first million samples as a live server does")
        small = first_million(work, args, pool)
        pool.close()
        log("catching up to now with the rollup job")  # last, so that the data is fresh when it is read
        caught = catch_up(path, args)
        fleet = spans(path)

        log(f"serving {path}")
        server = ingest.Server("app.py", work, args.threads, DATABASE_URL=f"sqlite:///{path}", ROLLUP_INTERVAL=0)
        try:
            with requests.Session() as session:
                login = session.post(server.url + "/api/v1/auth/login", json={"email": VIEWER, "password": PASSWORD})
                login.raise_for_status()
                session.headers["Authorization"] = f"Bearer {login.json()['token']}"
                load_before = os.getloadavg()[0]
                tallies, problems = time_queries(server.url, session, fleet, args, server.process.pid)
                loads = (load_before, os.getloadavg()[0])
                problems += check_values(server.url, session, fleet)
            rss = server.peak_rss_mb
        finally:
            server.stop()
        if args.profile:
            profile(path, fleet)

        log("measuring the raw tier on disk")
        with closing(sqlite3.connect(path)) as conn:
            pushes = conn.execute("SELECT COUNT(*) FROM pushes").fetchone()[0]
            rollup_count = conn.execute("SELECT COUNT(*) FROM container_rollups").fetchone()[0]
        # Every push of the fill carries every container.
        big = {**storage(path, pushes * args.containers), "pushes": pushes, "rollup_rows": rollup_count,
               "hours": args.hours}
        print_table(tallies, small, big, filled, caught, {"threads": args.threads, "rss": rss, "loads": loads}, started)
    for problem in problems[:20]:
        print(f"CHECK FAILED: {problem}")
    if problems:
        print(f"{len(problems)} checks failed")
        sys.exit(1)
    print("all answers checked: HTTP 200, the points each range holds, rollups equal to their samples")


if __name__ == "__main__":
    main()
