"""The dashboard's speed: the agents page for 1,000 agents, and the first chart of an agent with 50 containers.

    python bench/dashboard.py                # both parts, then the tables
    python bench/dashboard.py --rounds 50    # more timed requests per row
    python bench/dashboard.py --only page    # one part: page or chart

Part 1, server time. A fresh SQLite file gets one organization with 1,000 agents, each with one
push of 10 containers stored by the product's own store_push. The app (create_app on that file)
is called in-process through werkzeug's test client, signed in by the session cookie as a browser
is, and each row times the whole WSGI call: routing, the session, the query, the template or the
JSON; its CPU time (time.thread_time) is shown too, which other processes on the machine slow less. Side by side: the agents page, the JSON list it refreshes itself from, and /healthz.

Part 2, in a browser. The real server (`python app.py`, waitress on loopback) gets an agent with
50 containers that pushed every 15 s for the last hour over HTTP, rolled up as the server's job
does. Headless Chromium (the system's, driven by Playwright) signs in and opens the agent's page
again and again; each round reads how long after navigation the first chart drew (the charts
note performance.now() on their first draw) and how long the series request behind it took.
Side by side: the page's default chart (the whole agent, 50 containers added up) and one container's.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from kubewatch import create_app  # noqa: E402  (the benchmark runs from a checkout)
from kubewatch.accounts import add_user  # noqa: E402
from kubewatch.api.push_validation import fast_load  # noqa: E402

PASSWORD = "bench password"


def table(title, rows):
    print(f"\n{title}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'':44} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name, times in rows:
        times = sorted(times)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{name:44} {statistics.median(times):10.1f} {p95:8.1f} {times[-1]:8.1f}")


def containers(count, ts, running=True):
    return [{"id": f"c{i:03d}", "name": f"service-{i:03d}", "image": f"example/service-{i}:1",
             "status": "running" if running or i % 7 else "exited", "cpuPercent": (i * 7 + ts) % 100 / 3,
             "memoryMB": 50 + i, "memoryLimitMB": 1024, "networkRxBytes": ts * (i + 1), "networkTxBytes": ts * i,
             "restartCount": 0} for i in range(count)]


def agents_page(rounds, workdir):
    """Time the agents page, its JSON list and /healthz for 1,000 agents, in-process."""
    from kubewatch.repository import agents, pushes

    app = create_app({"DATABASE_URL": f"sqlite:///{workdir / 'agents.db'}", "SECRET_KEY": "bench"})
    now = int(time.time())
    with app.app_context():
        org_id = add_user("bench@example.test", PASSWORD, "bench", "admin")
        for n in range(1000):
            agent_id = agents.register_agent(org_id, f"host-{n:04d}", f"host-{n:04d}.lan", "1.0.0", "docker", now,
                                             lambda n=n: f"agent_{n:08x}")
            body = fast_load(json.dumps({"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - n % 90)),
                                         "containers": containers(10, now, running=n % 10 != 0)}).encode())
            pushes.store_push(agent_id, now - n % 90, now, body._asdict())
    client = app.test_client()
    login = client.get("/login").text
    token = login.split('name="csrf_token" value="')[1].split('"')[0]
    signed = client.post("/login", data={"email": "bench@example.test", "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 302, signed.text
    rows = []
    for name, path in (("GET / (the agents page, 1,000 agents)", "/"), ("GET /api/v1/agents (its refresh)", "/api/v1/agents"),
                       ("GET /healthz (baseline)", "/healthz")):
        times, cpu = [], []
        for _ in range(rounds):
            started, started_cpu = time.perf_counter(), time.thread_time()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            assert answer.status_code == 200, answer.status_code
        if path == "/":
            assert answer.text.count('"id":"agent_') == 1000  # the rows' JSON, drawn by agents.js
        rows += [(name, times), ("  the same, CPU time of the serving thread", cpu)]
    table("Agents page, server time (in-process WSGI call, 1,000 agents x 10 containers)", rows)


def first_chart(rounds, workdir):
    """Time the first chart draw of an agent with 50 containers in headless Chromium against the real server."""
    import requests
    from playwright.sync_api import sync_playwright

    from browser import ADMIN_EMAIL, ADMIN_PASSWORD, Agent, launch, sign_in
    from live_server import LiveServer

    server = LiveServer(workdir / "chart", ADMIN_EMAIL=ADMIN_EMAIL, ADMIN_PASSWORD=ADMIN_PASSWORD).start()
    try:
        agent = Agent(server.url, server.first_run_key(), "fifty")
        now = int(time.time())
        session = requests.Session()
        for ts in range(now - 3600, now + 1, 15):
            answer = session.post(f"{server.url}/api/v1/agents/{agent.id}/push", timeout=10,
                                  headers={"Authorization": f"Bearer {agent.token}"},
                                  json={"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)),
                                        "containers": containers(50, ts)})
            assert answer.status_code == 200, answer.text
        time.sleep(max(0, 65 - (time.time() - now)))  # the server's rollup job runs each minute
        rows = {"whole agent": [], "one container": []}
        requests_ms = {"whole agent": [], "one container": []}
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1920, "height": 1000})
            sign_in(page, server.url)
            for _ in range(rounds):
                for name in rows:
                    # The page draws the whole agent first; a container's chart is asked for by its hash.
                    page.goto("about:blank")
                    page.goto(f"{server.url}/agents/{agent.id}" + ("#container:c007" if name == "one container" else ""))
                    page.wait_for_function("window.kwFirstDraw !== undefined", timeout=20_000)
                    rows[name].append(page.evaluate("window.kwFirstDraw"))
                    requests_ms[name].append(page.evaluate(
                        "performance.getEntriesByType('resource').filter(e => e.name.includes('/metrics?'))"
                        ".map(e => e.duration)[0]"))
            browser.close()
    finally:
        server.stop()
    table("First chart drawn, ms after navigation (headless Chromium, 1920 px, 50 containers, 1 h)",
          [(f"page, {name}", times) for name, times in rows.items()]
          + [(f"  its series request, {name}", times) for name, times in requests_ms.items()])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--only", choices=["page", "chart"], help="run one part")
    args = parser.parse_args()
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with tempfile.TemporaryDirectory() as workdir:
        if args.only != "chart":
            agents_page(args.rounds, Path(workdir))
        if args.only != "page":
            first_chart(max(5, args.rounds // 4), Path(workdir))


if __name__ == "__main__":
    main()
