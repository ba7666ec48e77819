"""Ten thousand agents on one server: each pushes 30 containers every 15 s, driven by wrk.

    python bench/crowd.py                                   # 10,000 agents for 300 s
    python bench/crowd.py --agents 1000 --seconds 60
    python bench/ingest.py --only-crowd                     # the same, from the push benchmark

Starts the real server (`python app.py`, one waitress thread, the rollup job on its 60 s timer as in
production) on a fresh SQLite database, registers the agents, writes their pre-built push bodies
to a file and lets wrk (bench/crowd.lua) send them: each push is the next agent's, with its own
token and a timestamp one interval after its previous one, paced to agents / interval pushes a
second and sent with `Connection: close`, as an agent sends its last push before a wait. Every
5 s it samples the server's RSS, its open sockets and the rollup backlog (how long the oldest
push not rolled up has waited). Then it counts what the database holds against what was
acknowledged. wrk needs to be installed (Debian: apt-get install wrk).
"""

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ingest import Server, register_agents, stored_samples

HERE = Path(__file__).resolve().parent
GOALS = "push p99 < 50 ms, no error, nothing lost, rollup backlog <= 120 s, RSS < 150 MB"


class Sampler:
    """Every `every` seconds: the server's RSS, its open sockets, the rollup backlog, the load average."""

    def __init__(self, server, every=5.0):
        self.server, self.every, self.rows = server, every, []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.wait(self.every):
            self.rows.append({"rss_mb": self.server.rss_mb(), "sockets": open_sockets(self.server.process.pid),
                              "backlog_s": rollup_backlog(self.server.db), "load": os.getloadavg()[0]})

    def stop(self):
        self.stopping.set()
        self.thread.join()

    def peak(self, name):
        return max((row[name] for row in self.rows), default=0)


def open_sockets(pid):
    """Return how many sockets the process holds open: its listening one, the database's none."""
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
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as conn:
        oldest = conn.execute("SELECT MIN(received_at) FROM pushes WHERE rolled_up = 0").fetchone()[0]
    return 0 if oldest is None else max(0, int(time.time()) - oldest)


def write_agents(agents, path):
    """Write each agent's id, token and push body around its timestamp, one line each, for crowd.lua."""
    with open(path, "wb") as out:
        for agent in agents:
            out.write(b"\t".join([agent.agent_id.encode(), agent.token.encode(), agent.before, agent.after]) + b"\n")


def run(agent_count, containers, interval, seconds, connections, settings):
    """Run the scenario on a fresh server; return the figures as a dict."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as work:
        server = Server("app.py", work, 1, **settings)
        try:
            first_ts = int(time.time())
            agents = register_agents(server, agent_count, containers, "crowd", first_ts, interval)
            write_agents(agents, Path(work) / "agents.tsv")
            sampler = Sampler(server)
            load_before = os.getloadavg()
            command = [wrk, "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s",
                       "-s", str(HERE / "crowd.lua"), server.url, "--", str(Path(work) / "agents.tsv"),
                       str(interval), str(first_ts)]
            finished = subprocess.run(command, capture_output=True, text=True, check=True)
            sampler.stop()
            figures = json.loads(finished.stdout.strip().splitlines()[-1])
            time.sleep(2)  # the pushes still in flight when wrk stopped are answered and stored
            stored_pushes = sqlite3.connect(f"file:{server.db}?mode=ro", uri=True).execute(
                "SELECT count(*) FROM pushes").fetchone()[0]
            stored = stored_samples(server)
        finally:
            server.stop()
    errors = (figures["not_ok"] + figures["connect_errors"] + figures["read_errors"] + figures["write_errors"]
              + figures["timeouts"])
    return {**figures, "agents": agent_count, "containers": containers, "interval": interval, "seconds": seconds,
            "connections": connections, "errors": errors, "stored_pushes": stored_pushes, "stored_samples": stored,
            "lost_samples": max(0, figures["ok"] * containers - stored), "peak_rss_mb": server.peak_rss_mb,
            "peak_backlog_s": sampler.peak("backlog_s"), "peak_sockets": sampler.peak("sockets"),
            "load": [load_before[0]] + [row["load"] for row in sampler.rows], "samples": sampler.rows}


def report(result):
    """Print the scenario's figures, one line, then the goals."""
    r, ms = result, lambda us: f"{us / 1000:.1f}"
    due = r["agents"] / r["interval"]
    print(f"crowd: {r['agents']} agents x {r['containers']} containers every {r['interval']} s for {r['seconds']:.0f} s "
          f"(wrk, {r['connections']} connections, Connection: close): {r['ok'] / r['seconds']:.0f} pushes/s "
          f"acknowledged of {due:.0f} due, {r['ok'] * r['containers'] / r['seconds']:.0f} samples/s; "
          f"push p50 {ms(r['p50_us'])} ms, p90 {ms(r['p90_us'])} ms, p99 {ms(r['p99_us'])} ms, "
          f"p99.9 {ms(r['p999_us'])} ms, max {ms(r['max_us'])} ms; errors {r['errors']}; "
          f"acknowledged {r['ok']} pushes, stored {r['stored_pushes']} ({r['stored_samples']} samples), "
          f"lost samples {r['lost_samples']}; rollup backlog peak {r['peak_backlog_s']} s; "
          f"server RSS peak {r['peak_rss_mb']:.1f} MB; server sockets peak {r['peak_sockets']}; "
          f"load average {min(r['load']):.1f} to {max(r['load']):.1f}")
    met = (r["p99_us"] < 50_000 and r["errors"] == 0 and r["lost_samples"] == 0 and r["peak_backlog_s"] <= 120
           and r["peak_rss_mb"] < 150 and r["ok"] / r["seconds"] >= 0.98 * due)
    print(f"goals ({GOALS}, every push due acknowledged): {'met' if met else 'NOT met'}")


def parser_arguments(parser, prefix=""):
    """Add the scenario's options to parser, each name after prefix."""
    parser.add_argument(f"--{prefix}agents", type=int, default=10_000)
    parser.add_argument(f"--{prefix}containers", type=int, default=30)
    parser.add_argument(f"--{prefix}interval", type=int, default=15, help="seconds between an agent's pushes")
    parser.add_argument(f"--{prefix}seconds", type=float, default=300)
    parser.add_argument(f"--{prefix}connections", type=int, default=64, help="wrk's connections")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser_arguments(parser)
    parser.add_argument("--samples", action="store_true", help="also print every 5 s sample")
    args = parser.parse_args()
    result = run(args.agents, args.containers, args.interval, args.seconds, args.connections, {})
    report(result)
    if args.samples:
        for row in result["samples"]:
            print(row)


if __name__ == "__main__":
    main()
