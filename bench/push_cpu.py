"""The server's CPU per push: this checkout against another, side by side in one run.

    python bench/push_cpu.py --against ../kubewatch-before      # 3 alternating rounds of 5 s
    python bench/push_cpu.py --against ../kubewatch-before --rounds 5 --seconds 10

Starts each checkout's `python app.py` on a fresh database and the same waitress settings, in
alternating rounds, pushes 10 and then 50 containers back to back from 16 keep-alive connections,
and reads the server process's CPU time (user + system, from /proc/<pid>/stat) around the pushes.
CPU per push is what a change to the push path moves; throughput on a shared machine mostly
measures the neighbours. Prints the median round of each: pushes, CPU ms per push, and this
checkout's CPU per push as a share of the other's.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
from pathlib import Path

import load
from ingest import ROOT, Server, register_agents

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """Return the user and system CPU seconds process pid has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime and stime, fields 14 and 15 of proc(5)


def cpu_per_push(checkout, container_count, connections, seconds, round_number):
    """Return (pushes acknowledged, server CPU ms per push) of one round against checkout's server."""
    with tempfile.TemporaryDirectory() as workdir:
        server = Server(str(Path(checkout) / "app.py"), workdir, 1)
        try:
            agents = register_agents(server, connections, container_count, f"c{container_count}-r{round_number}")
            acknowledged = [0]

            def counted(index):
                acknowledged[0] += 1

            before = cpu_seconds(server.process.pid)
            asyncio.run(load.closed_loop("127.0.0.1", server.port, lambda i: agents[i].push_request(), connections,
                                         seconds, load.Tally(), counted))
            used = cpu_seconds(server.process.pid) - before
        finally:
            server.stop()
    return acknowledged[0], used * 1000 / max(1, acknowledged[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, help="another checkout of kubewatch (its app.py is started)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    trees = {"this": ROOT, "against": Path(args.against).resolve()}
    print(f"median of {args.rounds} alternating {args.seconds:g} s rounds, {args.connections} keep-alive connections, "
          f"1 waitress thread; load average {os.getloadavg()[0]:.1f} at the start")
    print(f"{'containers':>10}  {'checkout':<8} {'pushes':>7} {'CPU ms/push':>12}  share")
    for container_count in (10, 50):
        found = {name: [] for name in trees}
        for round_number in range(args.rounds):
            for name, tree in trees.items():
                found[name].append(cpu_per_push(tree, container_count, args.connections, args.seconds, round_number))
        medians = {name: statistics.median(ms for _, ms in rounds) for name, rounds in found.items()}
        for name in ("against", "this"):
            pushes = statistics.median(count for count, _ in found[name])
            share = medians[name] / medians["against"]
            print(f"{container_count:>10}  {name:<8} {pushes:>7.0f} {medians[name]:>12.3f}  {share:.2f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
