"""Reading an agent's latest state does not grow with its history: a CI host's old containers, side by side.

    python bench/latest_state.py                  # 18,000 containers gone, 30 running
    python bench/latest_state.py --gone 60000

Two agents of one server (a fresh SQLite file, the app in-process): one has only its 30 running
containers, the other the same 30 plus --gone container descriptions of containers long gone
(60 days of a CI host starting 300 a day, as written before the prune removed them). Both push
through the push view; then each one's container list is read in turns and the median time of
each is printed. After `flask prune` past retention, such descriptions are gone anyway (see the
README); this measures the read when they are still there.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import TEST_CONFIG, Org, bearer, container  # noqa: E402
from kubewatch import create_app  # noqa: E402
from kubewatch.api.fields import EpochTime  # noqa: E402
from kubewatch.db import db  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gone", type=int, default=18_000, help="descriptions of containers long gone")
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{workdir}/bench.db"})
        org = Org(app, app.test_client(), "acme")
        fresh, old = org.register(name="fresh"), org.register(name="ci-host")
        now = int(time.time())
        with app.app_context(), db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO containers VALUES (?, ?, ?, ?, 'ci:1', 'exited', ?, ?)", [
                (old["agentId"], key, f"gone{key:06d}", f"job-{key}", now - 86400, now - 86400)
                for key in range(1, args.gone + 1)])
        running = [container(f"run{i:02d}", f"service-{i}") for i in range(30)]
        for agent in (fresh, old):
            response = org.push(agent, {"timestamp": EpochTime.format(now), "containers": running})
            assert response.status_code == 200, response.json
        timings = {"fresh": [], "ci-host": []}
        viewer = bearer(org.viewer)
        for _ in range(args.reads):
            for name, agent in (("fresh", fresh), ("ci-host", old)):
                started = time.perf_counter()
                listed = org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=viewer)
                timings[name].append(time.perf_counter() - started)
                assert listed.status_code == 200 and len(listed.json) == 30
        print(f"container list of 30 running containers, median of {args.reads} reads each, in turns")
        for label, name in (("no history", "fresh"), (f"{args.gone:,} containers gone", "ci-host")):
            print(f"  agent with {label:<28} {statistics.median(timings[name]) * 1000:7.2f} ms")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
