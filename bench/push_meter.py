"""What counting and timing pushes for /metrics costs: the server with and without its push meter, side by side.

    python bench/push_meter.py                      # 16 connections, 50 containers, 5 alternating rounds of 5 s
    python bench/push_meter.py --rounds 9 --seconds 10

Starts `python app.py` and bench/unmetered.py (the same app with the PushMeter middleware taken
off) on fresh databases and the same waitress settings, pushes back to back from keep-alive
connections to each in alternating rounds, and prints the median round of each: pushes/s,
latency, errors, and the metered server's throughput as a share of the unmetered one's. Then, as
HTTP runs on a shared machine are noisier than the meter's cost, that cost alone, in-process.
"""

import argparse
import sys
import tempfile
import timeit
from pathlib import Path

from ingest import Server, median_row, ms, push_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kubewatch.server_metrics import PushMeter  # noqa: E402


def in_process_cost(calls=200_000):
    """Return the microseconds the meter adds to one push, measured around a WSGI app that does nothing."""
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/agents/agent_0123abcd/push"}

    def nothing(environ, start_response):
        start_response("200 OK", [])
        return [b""]

    metered, start_response = PushMeter(nothing), lambda status, headers, exc_info=None: None
    bare = min(timeit.repeat(lambda: nothing(environ, start_response), number=calls, repeat=5))
    with_meter = min(timeit.repeat(lambda: metered(environ, start_response), number=calls, repeat=5))
    return (with_meter - bare) / calls * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--containers", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as metered_work, tempfile.TemporaryDirectory() as unmetered_work:
        servers = {"with the meter": Server("app.py", metered_work, 1),
                   "without it": Server("bench/unmetered.py", unmetered_work, 1)}
        runs = {name: [] for name in servers}
        try:
            for round_number in range(args.rounds):  # alternate, so a noisy moment hits both alike
                for name, server in servers.items():
                    runs[name].append(push_scenario(server, args.containers, args.connections, args.seconds,
                                                    round_number))
        finally:
            for server in servers.values():
                server.stop()
    print(f"median of {args.rounds} alternating {args.seconds:.0f} s runs, {args.connections} keep-alive "
          f"connections, {args.containers} containers a push")
    print(f"{'server':<16} {'pushes/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'lost':>5} {'ratio':>6}")
    baseline = median_row(runs["without it"])["rate"]
    for name, rows in runs.items():
        row = median_row(rows)
        tally = row["tally"]
        print(f"{name:<16} {row['rate']:>9.0f} {ms(tally.percentile(50)):>7} {ms(tally.percentile(99)):>7} "
              f"{tally.errors:>6} {sum(r['lost'] for r in rows):>5} {row['rate'] / baseline:>6.3f}")
    cost, push_us = in_process_cost(), 1e6 / baseline  # one server thread: a push's share of a second
    print(f"in-process, the meter adds {cost:.2f} us to a push (best of 5 x 200,000 calls): "
          f"{100 * cost / push_us:.2f} % of the {push_us:.0f} us a push took above, unmetered")


if __name__ == "__main__":
    main()
