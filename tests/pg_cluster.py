"""A throwaway PostgreSQL cluster for a test run without KUBEWATCH_TEST_DATABASE, as .ci/postgresql.sh starts one.

Started from Debian's binaries (/usr/lib/postgresql/<version>/bin) on first use: its data in a new
temporary folder, listening on loopback alone on a free port, run as the postgres user when the
tests run as root (PostgreSQL refuses root); stopped at once and removed when the run ends.
"""

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile


def _binaries():
    """Return the bin folder of the newest PostgreSQL installed from Debian, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4].split(".")[0]))
    return os.path.dirname(found[-1]) if found else None


def _as_server_user(folder):
    """Return the command prefix that runs PostgreSQL's tools as a user it accepts, owning folder."""
    if os.geteuid() != 0:
        return []
    shutil.chown(folder, "postgres", "postgres")
    return ["runuser", "-u", "postgres", "--"]


def start():
    """Start a cluster and return its postgresql+psycopg:// URL, or a sentence saying why none could start."""
    binaries = _binaries()
    if binaries is None:
        return "Debian's PostgreSQL binaries (/usr/lib/postgresql/*/bin) are not installed"
    folder = tempfile.mkdtemp(prefix="kubewatch-pg-")
    os.chmod(folder, 0o700)
    try:
        prefix = _as_server_user(folder)
    except LookupError:
        shutil.rmtree(folder)
        return "the tests run as root and there is no postgres user to run PostgreSQL as"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = os.path.join(folder, "data")
    run = lambda *args: subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
    done = run(f"{binaries}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
    if done.returncode == 0:
        # fsync off: nothing in this cluster outlives the run.
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=300")
        done = run(f"{binaries}/pg_ctl", "-D", data, "-l", os.path.join(folder, "server.log"), "-w", "-t", "60",
                   "-o", options, "start")
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        return f"a throwaway cluster did not start: {(done.stderr or done.stdout).strip()[-300:]}"
    atexit.register(lambda: (run(f"{binaries}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"),
                             shutil.rmtree(folder, ignore_errors=True)))
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
