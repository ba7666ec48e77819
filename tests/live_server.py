"""The real server, `python app.py` under waitress, on a free loopback port."""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

import engines
from polling import wait_until

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """Start, stop and kill `python app.py` on a database of its own: a SQLite file in workdir, or on
    PostgreSQL the database standing for that file (the same for servers given the same workdir)."""

    def __init__(self, workdir, database_url=None, **settings):
        settings.setdefault("PUSHES_PER_INTERVAL", 10**9)  # tests push as fast as they can, unless they set it
        settings.setdefault("OBJECTS_PER_INTERVAL", 10**12)
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "empty.toml"
        config.write_text("")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.db_path = workdir / "kubewatch.db"
        self.database_url = database_url or engines.file_url(self.db_path)
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("KUBEWATCH_")},
                    "KUBEWATCH_CONFIG": str(config), "KUBEWATCH_HOST": "127.0.0.1",
                    "KUBEWATCH_PORT": str(self.port),
                    "KUBEWATCH_DATABASE_URL": self.database_url,
                    "KUBEWATCH_SECRET_KEY": "live-server-secret",
                    **{f"KUBEWATCH_{k}": str(v) for k, v in settings.items()}}
        self.process = None

    def start(self):
        """Start the server and wait until /healthz answers; return self."""
        return self.launch().wait_up()

    def launch(self):
        """Start the server's process without waiting for it; return self."""
        self._output = open(self.log, "a")
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env,
                                        stdout=self._output, stderr=subprocess.STDOUT)
        return self

    def wait_up(self):
        """Wait until the launched server answers /healthz; return self."""
        # Bound before the first start's admin is made (so a taken port fails first): it may
        # accept a connection and answer once that is done.
        wait_until(lambda: requests.get(self.url + "/healthz", timeout=1).status_code == 200,
                   "the server to answer /healthz", 20, every=0.05, alive=lambda: self.process.poll() is None,
                   ignore=(requests.ConnectionError, requests.Timeout), explain=self.log.read_text)
        return self

    def stop(self, sig=signal.SIGTERM):
        """Stop the server with sig (SIGKILL for a crash) and wait for it."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)
        if self.process:
            self._output.close()
        self.process = None

    def rows(self, sql, **params):
        """Return the rows of a statement (:named parameters) on the server's database, as tuples."""
        return engines.rows(self.database_url, sql, **params)

    def output(self):
        return self.log.read_text()

    def first_run_key(self):
        """Return the API key the first start printed."""
        return re.search(r"API key\s+(kw_live_\S+)", self.output()).group(1)
