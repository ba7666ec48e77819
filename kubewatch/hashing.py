"""Password hashing off the threads that serve pushes: a small pool of its own, with a bounded queue.

scrypt costs tens of milliseconds of CPU by design (hashlib releases the GIL while it runs). On
the waitress thread that also serves pushes, a flood of logins held every push behind it. Here a
sign-in waits on a waitress thread of its own (kubewatch/sign_in_lane.py gives requests that check a
password HASH_WORKERS + HASH_QUEUE threads and a queue of their own) while a worker hashes; past that
many at once (a password change served elsewhere, a test client), one is refused at once (Busy,
answered 503), before it reads the database. The workers run at a lower CPU priority.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from flask import current_app

from kubewatch import credentials


class Busy(Exception):
    """Every hashing worker and every place in its queue is taken."""


class HashPool:
    """workers threads that hash, and places for at most workers + queue requests using them."""

    def __init__(self, workers, queue):
        self.places = workers + queue
        self._free = threading.BoundedSemaphore(self.places)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="kubewatch-hash", initializer=_yield_the_cpu)

    @contextmanager
    def place(self):
        """Hold a place for the block; raise Busy at once when none is free."""
        if not self._free.acquire(blocking=False):
            raise Busy()
        try:
            yield
        finally:
            self._free.release()

    def run(self, function, *args):
        """Return function(*args), computed on a worker; call it holding a place."""
        return self._executor.submit(function, *args).result()


# How much nicer a hashing thread is than the server: where cores are short, the scheduler runs the
# threads that serve pushes first, and a flood of logins waits for the CPU instead of the pushes
# (Linux gives each thread a niceness of its own).
HASHING_NICENESS = 10


def _yield_the_cpu():
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + HASHING_NICENESS))
    except (AttributeError, OSError):  # a system without per-thread priorities: hashing runs as any thread
        pass


def init_app(app):
    """Give app its hashing pool."""
    app.extensions["kubewatch.hashing"] = HashPool(app.config["HASH_WORKERS"], app.config["HASH_QUEUE"])


def _pool():
    return current_app.extensions["kubewatch.hashing"]


def place():
    """Take a place in the app's hashing pool for a `with` block; raise Busy when none is free."""
    return _pool().place()


def password_matches(password_hash, password):
    """Tell as credentials.password_matches does, computed on a hashing worker; call it holding a place()."""
    return _pool().run(credentials.password_matches, password_hash, password)


def hash_password(password):
    """Return credentials.hash_password(password), computed on a hashing worker; raise Busy when none is free."""
    with place():
        return _pool().run(credentials.hash_password, password)
