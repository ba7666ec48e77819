"""A small HTTP/1.1 load generator: simulated agents on keep-alive connections, with asyncio."""

import asyncio
import json
import random
import time
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What one scenario saw: answers by status and every latency in seconds."""

    statuses: dict = field(default_factory=dict)
    latencies: list = field(default_factory=list)
    ok_pushes: int = 0

    def record(self, status, seconds):
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(seconds)

    @property
    def errors(self):
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def percentile(self, p):
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def read_response(reader):
    """Read one response; return (status, body, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", 0)))
    return status, body, headers.get("connection", "").lower() != "close"


def request_bytes(method, path, body=b"", headers=None):
    head = [f"{method} {path} HTTP/1.1", "Host: bench"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def containers(count, seed):
    """Return count plausible containers of one agent."""
    rng = random.Random(seed)
    return [{"id": f"{rng.getrandbits(48):012x}", "name": f"svc-{seed}-{i}", "image": f"registry.lan/app-{i % 7}:1.{i}",
             "status": "running", "cpuPercent": round(rng.uniform(0, 180), 2),
             "memoryMB": round(rng.uniform(5, 900), 1), "memoryLimitMB": 2048,
             "networkRxBytes": rng.getrandbits(34), "networkTxBytes": rng.getrandbits(33),
             "restartCount": rng.randint(0, 3)} for i in range(count)]


class Agent:
    """One simulated agent: its id, token and containers; makes one push request per call."""

    def __init__(self, agent_id, token, container_count, seed, first_ts, ts_step=1):
        self.agent_id, self.token, self.next_ts, self.ts_step = agent_id, token, first_ts, ts_step
        pushed = containers(container_count, seed)
        self.container_ids = [c["id"] for c in pushed]
        body = json.dumps({"timestamp": "@@@@@@@@@@@@@@@@@@@@", "containers": pushed, "nodes": [], "pods": []}).encode()
        self.before, self.after = body.split(b"@" * 20)
        self.container_count = container_count

    def push_request(self):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.next_ts)).encode()
        self.next_ts += self.ts_step
        return request_bytes("POST", f"/api/v1/agents/{self.agent_id}/push", self.before + stamp + self.after,
                             {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})


async def _exchange(conn, host, port, request, tally):
    """Send one request on conn (reconnecting when needed); return (conn, status, body)."""
    if conn is None:
        conn = await asyncio.open_connection(host, port)
    reader, writer = conn
    started = time.perf_counter()
    writer.write(request)
    status, body, keep_alive = await read_response(reader)
    tally.record(status, time.perf_counter() - started)
    if not keep_alive:
        writer.close()
        conn = None
    return conn, status, body


async def closed_loop(host, port, make_request, connections, seconds, tally, on_ok=None):
    """Send requests back to back on `connections` connections for `seconds`."""
    stop = time.monotonic() + seconds

    async def worker(index):
        conn = None
        while time.monotonic() < stop:
            conn, status, _ = await _exchange(conn, host, port, make_request(index), tally)
            if on_ok and status == 200:
                on_ok(index)
        if conn:
            conn[1].close()

    await asyncio.gather(*(worker(i) for i in range(connections)))


async def paced(host, port, agents, interval, seconds, tally, on_ok):
    """Let every agent push once per interval, spread evenly, each on its own connection."""
    stop = time.monotonic() + seconds

    async def run(index, agent):
        conn = None
        next_at = time.monotonic() + interval * index / len(agents)
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if time.monotonic() >= stop:
                break
            conn, status, _ = await _exchange(conn, host, port, agent.push_request(), tally)
            if status == 200:
                on_ok(index)
            next_at += interval
        if conn:
            conn[1].close()

    await asyncio.gather(*(run(i, agent) for i, agent in enumerate(agents)))


async def poll(host, port, requests, pause, seconds, tally):
    """Send the given requests in turn, one at a time, pausing between them."""
    stop, conn, turn = time.monotonic() + seconds, None, 0
    while time.monotonic() < stop:
        conn, _, _ = await _exchange(conn, host, port, requests[turn % len(requests)], tally)
        turn += 1
        await asyncio.sleep(pause)
    if conn:
        conn[1].close()
