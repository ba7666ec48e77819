"""Ten thousand agents on one server: each pushes 30 containers every 15 s, driven by wrk.

    python bench/crowd.py                                   # 10,000 agents for 300 s, SQLite
    python bench/crowd.py --postgresql auto                 # then PostgreSQL, one and two server processes
    python bench/crowd.py --postgresql postgresql+psycopg://user@host:port/db --only-postgresql --processes 2
    python bench/crowd.py --agents 1000 --seconds 60
    python bench/crowd.py --seconds 120 --setting ROLLUP_INTERVAL=0     # the pushes alone, the rollup job off
    python bench/crowd.py --first-round                     # each agent's first push in a round before the 300 s
    python bench/ingest.py --only-crowd                     # the SQLite run, from the push benchmark

Starts the real server (`python app.py`, one waitress thread, the rollup job on its 60 s timer as in
production) on a fresh SQLite database, registers the agents, writes their pre-built push bodies
to a file and lets wrk (bench/crowd.lua) send them: each push is the next agent's, with its own
token and a timestamp one interval after its previous one, paced to agents / interval pushes a
second and sent with `Connection: close`, as an agent sends its last push before a wait. Every
5 s it samples the server's RSS, its open sockets and the rollup backlog (how long the oldest
push not rolled up has waited). Then it counts what the database holds against what was
acknowledged. With --first-round, each agent's first push, which describes its containers, is
sent in a round of its own before the measured seconds (paced over one interval, given two) and
reported on a line of its own: 10,000 agents describing themselves at once is a start, not the
steady state. wrk needs to be installed (Debian: apt-get install wrk).

With --postgresql, the same scenario runs on a fresh database of that PostgreSQL server (created
for the run, dropped after it) with each number of server processes in --processes: each process
gets its share of the agents and its own wrk, at its share of the rate (what a load balancer
sharing agents out evenly does); acknowledged pushes are summed over the wrk instances and
counted against what the one database holds. `auto` starts a throwaway cluster from Debian's
binaries for the run (as .ci/run does; needs root) and stops it after.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ingest import Server, register_agents
from kubewatch import packing
from kubewatch.kinds import CONTAINERS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOALS = "push p99 < 50 ms, no error, nothing lost, rollup backlog <= 120 s, RSS < 150 MB (each process)"


class Sampler:
    """Every `every` seconds: each server's RSS and open sockets, the rollup backlog, the load average."""

    def __init__(self, servers, database, every=5.0):
        self.servers, self.database, self.every, self.rows = servers, database, every, []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.wait(self.every):
            self.rows.append({"rss_mb": [round(server.rss_mb(), 1) for server in self.servers],
                              "sockets": sum(open_sockets(server.process.pid) for server in self.servers),
                              "backlog_s": rollup_backlog(self.database), "load": os.getloadavg()[0]})

    def stop(self):
        self.stopping.set()
        self.thread.join()

    def peak(self, name):
        return max((row[name] for row in self.rows), default=0)


def open_sockets(pid):
    """Return how many sockets the process holds open: its listening one and clients', and the database's."""
    fd_dir = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in os.listdir(fd_dir):
        try:
            count += os.readlink(fd_dir / fd).startswith("socket:")
        except OSError:
            pass  # closed meanwhile
    return count


def rollup_backlog(database):
    """Return how long the oldest push not rolled up has waited since the server received it, in seconds."""
    with database.connect() as conn:
        oldest = conn.execute(text("SELECT MIN(received_at) FROM pushes WHERE rolled_up = 0")).scalar()
    return 0 if oldest is None else max(0, int(time.time()) - oldest)


def stored(database):
    """Return (pushes, container samples) the database holds, the samples unpacked from its push rows."""
    with database.connect() as conn:
        pushes = conn.execute(text("SELECT COUNT(*) FROM pushes")).scalar()
        samples = sum(len(packing.unpack(CONTAINERS.metrics, bytes(blob))) for (blob,) in conn.execute(
            text("SELECT containers FROM pushes WHERE containers IS NOT NULL")))
    return pushes, samples


def write_agents(agents, path):
    """Write each agent's id, token and push body around its timestamp, one line each, for crowd.lua."""
    with open(path, "wb") as out:
        for agent in agents:
            out.write(b"\t".join([agent.agent_id.encode(), agent.token.encode(), agent.before, agent.after]) + b"\n")


@contextmanager
def fresh_database(postgresql):
    """Yield the URL of a fresh database: a SQLite file (postgresql None), or one made on that PostgreSQL
    server for the run and dropped after it."""
    if postgresql is None:
        with tempfile.TemporaryDirectory() as work:
            yield f"sqlite:///{Path(work) / 'kubewatch.db'}"
        return
    admin = create_engine(postgresql, isolation_level="AUTOCOMMIT")
    name = f"kubewatch_crowd_{os.getpid()}_{int(time.time())}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgresql).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _wrk_rounds(wrk, servers, work, seconds, interval, connections, first_ts, rounds=0):
    """Let one wrk per server push its agents' bodies for seconds, the first at first_ts, at most rounds pushes of
    each agent (0: no limit); return their JSON lines."""
    runs = []
    for n, server in enumerate(servers):  # each its share of the agents, at its share of the rate
        command = [wrk, "-t1", f"-c{max(1, connections // len(servers))}", f"-d{seconds:.0f}s",
                   "--timeout", "10s", "-s", str(HERE / "crowd.lua"), server.url, "--",
                   str(Path(work) / f"agents-{n}.tsv"), str(interval), str(first_ts), str(rounds)]
        runs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [run.communicate() for run in runs]
    for run, (_, err) in zip(runs, outputs):
        if run.returncode:
            raise SystemExit(f"wrk failed: {err}")
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]


def run(agent_count, containers, interval, seconds, connections, settings, postgresql=None, processes=1,
        warm_up=False):
    """Run the scenario on fresh servers (processes of them, on one fresh database); return the figures as a dict.

    With warm_up, each agent's first push is sent in a round of its own first (two intervals long at
    most), whose figures are returned apart ("first_round"); the pushes it acknowledged count as stored."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    if processes > 1 and postgresql is None:
        raise SystemExit("several server processes need PostgreSQL (--postgresql)")
    with fresh_database(postgresql) as url, tempfile.TemporaryDirectory() as work:
        database = create_engine(url)
        servers = []
        try:
            for n in range(processes):  # one after the other: the first creates the schema and the first key
                (Path(work) / str(n)).mkdir()
                servers.append(Server("app.py", Path(work) / str(n), 1, **{"DATABASE_URL": url, **settings}))
            agents = register_agents(servers[0], agent_count, containers, "crowd", int(time.time()), interval)
            sampler = Sampler(servers, database)
            load_before = os.getloadavg()
            for n in range(processes):
                write_agents(agents[n::processes], Path(work) / f"agents-{n}.tsv")
            first_ts = int(time.time())  # the first pushes are dated when they are sent, as an agent's are
            # Every agent's first push describes its containers, 10,000 agents' in one interval: a
            # herd no steady state has (a restarted server finds them described). Sent first, and
            # reported apart.
            first = (_wrk_rounds(wrk, servers, work, 2 * interval, interval, connections, first_ts, rounds=1)
                     if warm_up else None)
            figures = _wrk_rounds(wrk, servers, work, seconds, interval, connections,
                                  first_ts + (interval if warm_up else 0))
            sampler.stop()
            time.sleep(2)  # the pushes still in flight when wrk stopped are answered and stored
            stored_pushes, stored_samples = stored(database)
        finally:
            for server in servers:
                server.stop()
            database.dispose()
    total, worst, errors = _summed(figures)
    first_round = None
    if first is not None:
        first_total, first_worst, first_errors = _summed(first)
        first_round = {**first_total, **first_worst, "errors": first_errors}
    acknowledged = total["ok"] + (first_round["ok"] if first_round else 0)
    return {**total, **worst, "agents": agent_count, "first_round": first_round, "containers": containers,
            "interval": interval, "seconds": seconds, "connections": connections, "errors": errors,
            "stored_pushes": stored_pushes,
            "stored_samples": stored_samples, "lost_samples": max(0, acknowledged * containers - stored_samples),
            "peak_rss_mb": [server.peak_rss_mb for server in servers], "peak_backlog_s": sampler.peak("backlog_s"),
            "peak_sockets": sampler.peak("sockets"), "engine": "SQLite" if postgresql is None else "PostgreSQL",
            "processes": processes, "load": [load_before[0]] + [row["load"] for row in sampler.rows],
            "samples": sampler.rows}


def _summed(figures):
    """Return (totals, worst percentiles, errors) of several wrk instances' JSON lines."""
    total = {name: sum(f[name] for f in figures) for name in ("ok", "not_ok", "connect_errors", "read_errors",
                                                               "write_errors", "timeouts")}
    # Percentiles of several wrk instances do not add up: the worst instance's is given.
    worst = {name: max(f[name] for f in figures) for name in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")}
    return total, worst, sum(total[name] for name in total if name != "ok")


def report(result):
    """Print the scenario's figures, one line, then the goals."""
    r, ms = result, lambda us: f"{us / 1000:.1f}"
    due = r["agents"] / r["interval"]
    several = r["processes"] > 1
    rss = " + ".join(f"{mb:.1f}" for mb in r["peak_rss_mb"])
    print(f"crowd, {r['engine']}, {r['processes']} server process{'es' if several else ''}: {r['agents']} agents x "
          f"{r['containers']} containers every {r['interval']} s for {r['seconds']:.0f} s "
          f"(wrk, {r['connections']} connections, Connection: close): {r['ok'] / r['seconds']:.0f} pushes/s "
          f"acknowledged of {due:.0f} due, {r['ok'] * r['containers'] / r['seconds']:.0f} samples/s; "
          f"push{' (worst wrk instance)' if several else ''} p50 {ms(r['p50_us'])} ms, p90 {ms(r['p90_us'])} ms, "
          f"p99 {ms(r['p99_us'])} ms, p99.9 {ms(r['p999_us'])} ms, max {ms(r['max_us'])} ms; errors {r['errors']}; "
          f"acknowledged {r['ok']} pushes, stored {r['stored_pushes']} ({r['stored_samples']} samples), "
          f"lost samples {r['lost_samples']}; rollup backlog peak {r['peak_backlog_s']} s; "
          f"server RSS peak {rss} MB; server sockets peak {r['peak_sockets']}; "
          f"load average {min(r['load']):.1f} to {max(r['load']):.1f}")
    if r["first_round"]:
        f = r["first_round"]
        print(f"  before it, each agent's first push (describing its containers) in a round of its own, "
              f"sent over one interval: {f['ok']} pushes acknowledged; p50 {ms(f['p50_us'])} ms, "
              f"p90 {ms(f['p90_us'])} ms, p99 {ms(f['p99_us'])} ms, max {ms(f['max_us'])} ms; errors {f['errors']}")
    met = (r["p99_us"] < 50_000 and r["errors"] == 0 and r["lost_samples"] == 0 and r["peak_backlog_s"] <= 120
           and (r["first_round"] or {}).get("errors", 0) == 0 and max(r["peak_rss_mb"]) < 150
           and r["ok"] / r["seconds"] >= 0.98 * due)
    print(f"goals ({GOALS}, every push due acknowledged): {'met' if met else 'NOT met'}")


def parser_arguments(parser, prefix=""):
    """Add the scenario's options to parser, each name after prefix."""
    parser.add_argument(f"--{prefix}agents", type=int, default=10_000)
    parser.add_argument(f"--{prefix}containers", type=int, default=30)
    parser.add_argument(f"--{prefix}interval", type=int, default=15, help="seconds between an agent's pushes")
    parser.add_argument(f"--{prefix}seconds", type=float, default=300)
    parser.add_argument(f"--{prefix}connections", type=int, default=64, help="wrk's connections")
    parser.add_argument(f"--{prefix}first-round", action="store_true",
                        help="send each agent's first push (describing its containers) in a round of its own, "
                        "before the measured seconds, and report it apart")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser_arguments(parser)
    parser.add_argument("--postgresql", metavar="URL", help="also run on PostgreSQL: a postgresql+psycopg:// URL of "
                        "a database to connect to (the run's own database is made beside it), or auto")
    parser.add_argument("--processes", default="1,2", help="server processes on PostgreSQL, one run each (1,2)")
    parser.add_argument("--only-postgresql", action="store_true", help="skip the SQLite run")
    parser.add_argument("--samples", action="store_true", help="also print every 5 s sample")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a server setting for the run, e.g. ROLLUP_INTERVAL=0 (the rollup job off); repeatable")
    args = parser.parse_args()
    settings = dict(setting.split("=", 1) for setting in args.setting)
    plan = [] if args.only_postgresql else [(None, 1)]
    with postgresql_server(args.postgresql) as postgresql:
        plan += [(postgresql, int(n)) for n in args.processes.split(",")] if postgresql else []
        for database, processes in plan:
            result = run(args.agents, args.containers, args.interval, args.seconds, args.connections, settings,
                         database, processes, warm_up=args.first_round)
            report(result)
            if args.samples:
                for row in result["samples"]:
                    print(row)
            sys.stdout.flush()


@contextmanager
def postgresql_server(url):
    """Yield url, or with `auto` the URL of a throwaway cluster started for the run and stopped after it."""
    if url != "auto":
        yield url
        return
    folder = tempfile.mkdtemp(prefix="kubewatch-crowd-pg-")
    os.chmod(folder, 0o755)  # made private to its owner; the cluster's own user must reach its data folder inside
    script = f". {ROOT / '.ci' / 'postgresql.sh'}; start_postgresql {folder}/pg >&2 && echo $KUBEWATCH_TEST_DATABASE"
    started = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    if started.returncode:
        raise SystemExit(f"could not start PostgreSQL: {started.stderr}")
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", "-c", f". {ROOT / '.ci' / 'postgresql.sh'}; PG_DIR={folder}/pg; "
                        "PG_CTL=$(postgresql_bin)/pg_ctl; stop_postgresql"], check=False)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
