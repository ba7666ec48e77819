"""The push path against a hello-world Flask baseline, side by side in one run.

    python bench/ingest.py                 # the table the README quotes
    python bench/ingest.py --threads 1,2,4,8 --seconds 10

Starts the real server (`python app.py`, on a fresh database) and bench/hello.py on the same
waitress settings, drives both over keep-alive connections from this process, and prints
pushes/s, samples/s, latency, errors, server memory and the ratio of push to hello-world
throughput. Then a steady scenario: 1,000 agents x 30 containers every 15 s while a reader polls
the agent list and one container's last hour. Then the abuse scenarios, side by side, each on a
fresh server with the default limits: 100 agents push 30 containers every second while nothing
else happens, while 8 clients flood logins (a new email from a new address each time, as through
a proxy), while one agent pushes 36,000-container bodies (over max_objects_per_push), and while
one agent pushes 20,000-container bodies an hour old (at the limit) that the rollup job (every
5 s here) rolls up meanwhile. It prints the other agents' p50 and p99, the server's peak RSS, and
what the abuse was answered.

    python bench/ingest.py --only-abuse --abuse-seconds 30

`--only-crowd` (or `--crowd`, before the rest) runs bench/crowd.py's scenario: 10,000 agents x 30
containers every 15 s for 5 minutes, driven by wrk, with the rollup job on its timer.
"""

import argparse
import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import load

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kubewatch import packing  # noqa: E402  (the benchmark runs from a checkout, not an install)
from kubewatch.kinds import CONTAINERS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Throughput runs push one second apart from here: inside the raw window the server keeps (48 h).
BASE_TS = int(time.time()) - 40 * 3600


class Server:
    """A server process on a free loopback port, with its peak resident memory sampled."""

    def __init__(self, script, workdir, threads, **settings):
        import socket
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = Path(workdir) / "kubewatch.db"
        (Path(workdir) / "empty.toml").write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEWATCH_")}
        env.update({"KUBEWATCH_CONFIG": str(Path(workdir) / "empty.toml"), "KUBEWATCH_HOST": "127.0.0.1",
                    "KUBEWATCH_PORT": str(self.port), "KUBEWATCH_THREADS": str(threads),
                    "KUBEWATCH_DATABASE_URL": f"sqlite:///{self.db}", "KUBEWATCH_SECRET_KEY": "bench",
                    "KUBEWATCH_LOG_LEVEL": "WARNING",
                    # The closed loops push each agent as fast as the server answers, which the
                    # per-agent rate limit (a real agent pushes once an interval) would refuse.
                    "KUBEWATCH_PUSHES_PER_INTERVAL": str(10 ** 9), "KUBEWATCH_OBJECTS_PER_INTERVAL": str(10 ** 12),
                    **{f"KUBEWATCH_{k}": str(v) for k, v in settings.items()}})
        self.log = open(Path(workdir) / f"{Path(script).stem}-{self.port}.log", "w+")
        self.process = subprocess.Popen([sys.executable, script], cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self.peak_rss_mb = 0.0
        self._sampling = True
        self._wait_until_up()
        threading.Thread(target=self._sample_rss, daemon=True).start()

    def _wait_until_up(self):
        for _ in range(400):
            try:
                urllib.request.urlopen(self.url + "/", timeout=1)
                return
            except urllib.error.HTTPError:
                return  # it answered
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"server did not start: {self.output()}")

    def rss_mb(self):
        """Return the server's resident memory in MB, or 0.0 once it has exited (a zombie has no VmRSS)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except FileNotFoundError:
            return 0.0
        found = re.search(r"VmRSS:\s+(\d+)", status)
        return int(found.group(1)) / 1024 if found else 0.0

    def _sample_rss(self):
        while self._sampling and self.process.poll() is None:
            self.peak_rss_mb = max(self.peak_rss_mb, self.rss_mb())
            time.sleep(0.2)

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self._sampling = False
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def call(url, method="GET", body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def register_agents(server, count, container_count, prefix, first_ts=BASE_TS, ts_step=1):
    """Register count agents and return them ready to push."""
    key = re.search(r"API key\s+(kw_live_\S+)", server.output()).group(1)
    agents = []
    for i in range(count):
        answer = call(server.url + "/api/v1/agents/register", "POST",
                      {"name": f"{prefix}-{i}", "hostname": f"host-{i}"}, {"X-API-Key": key})
        agents.append(load.Agent(answer["agentId"], answer["token"], container_count, seed=i,
                                 first_ts=first_ts, ts_step=ts_step))
    return agents


def stored_samples(server):
    """Return how many container samples the server's database holds, unpacked from its push rows."""
    with sqlite3.connect(f"file:{server.db}?mode=ro", uri=True) as conn:
        return sum(len(packing.unpack(CONTAINERS.metrics, blob))
                   for (blob,) in conn.execute("SELECT containers FROM pushes WHERE containers IS NOT NULL"))


def push_scenario(server, container_count, connections, seconds, round_number):
    """Push back to back from `connections` agents (new ones each round); return the row of the table."""
    agents = register_agents(server, connections, container_count, f"c{container_count}-r{round_number}")
    before, tally, acknowledged = stored_samples(server), load.Tally(), [0]

    def counted(index):
        acknowledged[0] += 1

    asyncio.run(load.closed_loop("127.0.0.1", server.port, lambda i: agents[i].push_request(), connections,
                                 seconds, tally, counted))
    stored = stored_samples(server) - before
    return {"scenario": f"push, {container_count} containers", "rate": acknowledged[0] / seconds,
            "samples": acknowledged[0] * container_count / seconds, "tally": tally,
            "lost": acknowledged[0] * container_count - stored}


def hello_scenario(server, connections, seconds):
    tally = load.Tally()
    request = load.request_bytes("GET", "/")
    asyncio.run(load.closed_loop("127.0.0.1", server.port, lambda i: request, connections, seconds, tally))
    return {"scenario": "hello world", "rate": len(tally.latencies) / seconds, "samples": None, "tally": tally,
            "lost": 0}


def steady_scenario(server, agent_count, container_count, interval, seconds):
    """Every agent pushes once per interval while a reader polls the agent list and a container's last hour."""
    agents = register_agents(server, agent_count, container_count, "steady", int(time.time()), interval)
    token = call(server.url + "/api/v1/auth/login", "POST", {"email": "bench@kubewatch.local",
                                                               "password": "bench-password"})["token"]
    auth = {"Authorization": f"Bearer {token}"}
    series = f"/api/v1/agents/{agents[0].agent_id}/containers/{agents[0].container_ids[0]}/metrics"
    reads = [load.request_bytes("GET", "/api/v1/agents", headers=auth), load.request_bytes("GET", series, headers=auth)]
    pushes, reader, acknowledged = load.Tally(), load.Tally(), [0]
    before = stored_samples(server)

    async def both():
        await asyncio.gather(
            load.paced("127.0.0.1", server.port, agents, interval, seconds, pushes,
                       lambda i: acknowledged.__setitem__(0, acknowledged[0] + 1)),
            load.poll("127.0.0.1", server.port, reads, 0.5, seconds, reader))

    asyncio.run(both())
    stored = stored_samples(server) - before
    return pushes, reader, acknowledged[0], acknowledged[0] * container_count - stored


def flood_of_logins(index):
    """Return a login with a wrong password, for an email never seen before from an address never seen before."""
    n = time.perf_counter_ns()
    body = json.dumps({"email": f"nobody-{index}-{n}@example.com", "password": "guess"}).encode()
    return load.request_bytes("POST", "/api/v1/auth/login", body, {
        "Content-Type": "application/json", "X-Forwarded-For": f"2001:db8:{n % 65536:x}:{index:x}::{n % 9973:x}"})


def big_pushes(server, container_count, first_ts):
    """Return a function making the pushes of one agent, each of container_count containers in under 1 MiB."""
    [agent] = register_agents(server, 1, 0, "abuser", first_ts)
    containers = ",".join(f'{{"id":"{i:08x}","name":"c"}}' for i in range(container_count))
    body = b'{"timestamp":"@@@@@@@@@@@@@@@@@@@@","containers":[' + containers.encode() + b"]}"
    assert len(body) < 2**20

    def request(index):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(agent.next_ts)).encode()
        agent.next_ts += 1
        return load.request_bytes("POST", f"/api/v1/agents/{agent.agent_id}/push", body.replace(b"@" * 20, stamp),
                                  {"Authorization": f"Bearer {agent.token}", "Content-Type": "application/json"})
    return request


def abuse_scenario(server, abuse, abusers, agent_count, seconds):
    """Agents push 30 containers every second while `abusers` connections send abuse(i) back to back.

    Returns the agents' tally, the abuse's tally and the server's peak RSS meanwhile.
    """
    agents = register_agents(server, agent_count, 30, "agent", int(time.time()) - 600, 1)
    pushes, abused = load.Tally(), load.Tally()
    server.peak_rss_mb = server.rss_mb()

    async def both():
        await asyncio.gather(
            load.paced("127.0.0.1", server.port, agents, 1.0, seconds, pushes, lambda i: None),
            load.closed_loop("127.0.0.1", server.port, abuse, abusers, seconds, abused))

    asyncio.run(both())
    return pushes, abused, server.peak_rss_mb


def abuse(args, seed):
    """One agent or one client against the others: what the others' pushes and the server's memory see."""
    print(f"\nabuse: {args.abuse_agents} agents x 30 containers every 1 s for {args.abuse_seconds:.0f} s, while ...")
    print(f"{'while':<50} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'RSS MB':>7}  abuse answered")
    hour_ago = int(time.time()) - 3600
    scenarios = [
        ("nothing else", lambda server: (lambda i: load.request_bytes("GET", "/healthz"), 0)),
        ("8 clients flood logins (new email, new address)", lambda server: (flood_of_logins, 8)),
        ("1 agent pushes 36,000-container bodies", lambda server: (big_pushes(server, 36_000, hour_ago), 1)),
        ("1 agent pushes 20,000-container bodies, rolled up", lambda server: (big_pushes(server, 20_000, hour_ago), 1)),
    ]
    for name, make in scenarios:
        with tempfile.TemporaryDirectory() as work:
            # As behind a proxy, so that each login comes from its own address; the job runs every 5 s.
            server = Server("app.py", work, int(args.threads.split(",")[0]), TRUSTED_PROXY_HOPS=1, ROLLUP_INTERVAL=5,
                            PUSHES_PER_INTERVAL=30, OBJECTS_PER_INTERVAL=40_000, **seed)
            request, connections = make(server)
            pushes, abused, rss = abuse_scenario(server, request, connections, args.abuse_agents, args.abuse_seconds)
            answers = ", ".join(f"{status}: {n}" for status, n in sorted(abused.statuses.items())) or "-"
            print(f"{name:<50} {ms(pushes.percentile(50)):>7} {ms(pushes.percentile(99)):>7} {pushes.errors:>6} "
                  f"{rss:>7.1f}  {answers}", flush=True)
            server.stop()


def ms(seconds):
    return f"{seconds * 1000:.1f}"


def median_row(rows):
    """Return the run with the median rate, so one noisy run cannot make the table."""
    return sorted(rows, key=lambda row: row["rate"])[len(rows) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,4", help="waitress thread counts to compare, e.g. 1,2,4,8")
    parser.add_argument("--seconds", type=float, default=5, help="length of each throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each scenario; the median is shown")
    parser.add_argument("--connections", type=int, default=16, help="concurrent agents in throughput runs")
    parser.add_argument("--steady-agents", type=int, default=1000)
    parser.add_argument("--steady-seconds", type=float, default=60)
    parser.add_argument("--no-steady", action="store_true")
    parser.add_argument("--abuse-seconds", type=float, default=30, help="length of each abuse scenario")
    parser.add_argument("--abuse-agents", type=int, default=100, help="agents pushing every second meanwhile")
    parser.add_argument("--no-abuse", action="store_true")
    parser.add_argument("--only-abuse", action="store_true", help="run the abuse scenarios alone")
    import crowd  # bench/crowd.py: it builds on this module's Server
    parser.add_argument("--crowd", action="store_true", help="also run bench/crowd.py: 10,000 agents through wrk")
    parser.add_argument("--only-crowd", action="store_true", help="run bench/crowd.py's scenario alone")
    crowd.parser_arguments(parser, "crowd-")
    args = parser.parse_args()
    if args.crowd or args.only_crowd:
        crowd.report(crowd.run(args.crowd_agents, args.crowd_containers, args.crowd_interval, args.crowd_seconds,
                               args.crowd_connections, {}, warm_up=args.crowd_first_round))
        if args.only_crowd:
            return
    seed = {"ADMIN_EMAIL": "bench@kubewatch.local", "ADMIN_PASSWORD": "bench-password"}
    if not args.only_abuse:
        throughput(args, seed)
    if not args.no_abuse:
        abuse(args, seed)


def throughput(args, seed):
    """The push table against hello world, then the steady scenario."""

    print(f"median of {args.rounds} alternating {args.seconds:.0f} s runs, {args.connections} keep-alive connections")
    print(f"{'threads':>7}  {'scenario':<24} {'req/s':>8} {'samples/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'lost':>5} {'RSS MB':>7} {'ratio':>6}")
    for threads in [int(t) for t in args.threads.split(",")]:
        with tempfile.TemporaryDirectory() as work:
            hello = Server("bench/hello.py", work, threads)
            server = Server("app.py", work, threads, **seed)
            runs = {"hello": [], 10: [], 50: []}
            for round_number in range(args.rounds):  # alternate, so a noisy moment hits every scenario alike
                runs["hello"].append(hello_scenario(hello, args.connections, args.seconds))
                for containers in (10, 50):
                    runs[containers].append(
                        push_scenario(server, containers, args.connections, args.seconds, round_number))
            baseline = median_row(runs["hello"])
            for key in ("hello", 10, 50):
                row = median_row(runs[key])
                tally = row["tally"]
                samples = "" if row["samples"] is None else f"{row['samples']:.0f}"
                lost = sum(run["lost"] for run in runs[key])
                rss = (hello if key == "hello" else server).peak_rss_mb
                print(f"{threads:>7}  {row['scenario']:<24} {row['rate']:>8.0f} {samples:>10} "
                      f"{ms(tally.percentile(50)):>7} {ms(tally.percentile(99)):>7} {tally.errors:>6} "
                      f"{lost:>5} {rss:>7.1f} {row['rate'] / baseline['rate']:>6.2f}")
            hello.stop()
            server.stop()

    if args.no_steady:
        return
    with tempfile.TemporaryDirectory() as work:
        server = Server("app.py", work, int(args.threads.split(",")[0]), **seed)
        pushes, reader, acknowledged, lost = steady_scenario(server, args.steady_agents, 30, 15, args.steady_seconds)
        print(f"\nsteady: {args.steady_agents} agents x 30 containers every 15 s for {args.steady_seconds:.0f} s: "
              f"{acknowledged / args.steady_seconds:.0f} pushes/s, push p50 {ms(pushes.percentile(50))} ms, "
              f"p99 {ms(pushes.percentile(99))} ms, errors {pushes.errors}, lost samples {lost}; "
              f"reader p95 {ms(reader.percentile(95))} ms over {len(reader.latencies)} reads, "
              f"errors {reader.errors}; server RSS peak {server.peak_rss_mb:.1f} MB")
        server.stop()


if __name__ == "__main__":
    main()
