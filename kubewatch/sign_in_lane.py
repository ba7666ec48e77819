"""Requests that check or hash a password are served in a lane of their own: a waitress queue and threads
that pushes never share; so are pushes of big bodies, behind one another.

scrypt costs tens of milliseconds by design, off the serving thread (kubewatch/hashing.py). But a
sign-in served by the threads that serve pushes either held one of them while its password was
checked or, once the hashing pool was full, was answered 503 at once; a flood's clients then came
straight back. Measured with bench/ingest.py, 8 flooding clients made 377 refused sign-ins a second,
each a whole request that took the GIL from the pushes: their p99 went from 25 to 66 ms in the same
run. Here a sign-in waits in a queue of its own, holding no thread and costing no CPU, until one of
its HASH_WORKERS + HASH_QUEUE threads takes it: a flood is answered at the pace of the password
checks, and pushes keep their THREADS threads to themselves. The queue holds at most one request per
open connection (waitress reads no further request on a connection until it has answered).

A push of more than HEAVY_PUSH_BYTES (a 20,000-container push took 50 to 450 ms, as the machine
was busy) waits in a lane of its own too, one at a time, on HEAVY_PUSH_THREADS thread: served by the
threads of the others, it held one of them as long, and the others' pushes queued behind it.

A push of at most LOOP_PUSH_BYTES as sent (LOOP_COMPRESSED_BYTES compressed), the push every agent
sends every interval, is served on waitress's main loop thread, the one that read it, rather than
handed to a worker thread: each hand-off and each return of the GIL between the two threads cost
more than the push itself saved by it. Measured with bench/crowd.py, see the README. Meanwhile the
loop reads, accepts and sends nothing for any connection, a worker's answers included: a push that
waits for the writer lock (a rollup chunk, tens of ms) or for SQLite's busy timeout (another
process writing) holds up every connection for as long.
"""

import re
import threading

from waitress.task import ThreadedTaskDispatcher

from kubewatch.ingest import HEAVY_PUSH_BYTES, ONE_PUSH_AT_A_TIME

# The method and path of every request that checks or hashes a password: api/auth.py's login, the
# sign-in page (web/signin.py), and api/users.py's invitation and password changes. The path may
# come under a prefix a reverse proxy passed on whole (kubewatch/proxy.py takes it off later).
PASSWORD_REQUESTS = re.compile(r"(?:POST (?:/[^\s?]*)?(?:/api/v1/auth/login|/login|/api/v1/users"
                               r"|/api/v1/users/[^/]+/password)|PUT (?:/[^\s?]*)?/api/v1/users/me/password)")


# Pushes, as the shortcut and the view take them (under a proxy's prefix or not).
PUSH_REQUESTS = re.compile(r"POST (?:/[^\s?]*)?/api/v1/agents/[^/\s?]+/push")
HEAVY_PUSH_THREADS = 1

# A push of at most this many bytes as sent is served on the loop thread: 50 containers are about
# 12 KB as JSON. A compressed one, only up to LOOP_COMPRESSED_BYTES: 50 containers gzip to about
# 2.4 KB as the agent sends them, and a body of identical objects shrinks up to 38 times, so that
# one of 4 KiB stays near HEAVY_PUSH_BYTES unfolded, and names too few objects to be described in
# chunks with rests between (kubewatch/repository/describe_ahead.py) on the loop.
LOOP_PUSH_BYTES = HEAVY_PUSH_BYTES // 8
LOOP_COMPRESSED_BYTES = LOOP_PUSH_BYTES // 4


def is_heavy_push(method, path, length):
    """Tell whether a request of this method, path and body length in bytes is a push past HEAVY_PUSH_BYTES."""
    return length > HEAVY_PUSH_BYTES and PUSH_REQUESTS.fullmatch(f"{method} {path}") is not None


def is_loop_push(method, path, length, compressed=False):
    """Tell whether a request of this method, path and body length in bytes as sent (compressed or not)
    is a push served on the loop thread."""
    most = LOOP_COMPRESSED_BYTES if compressed else LOOP_PUSH_BYTES
    return 0 < length <= most and PUSH_REQUESTS.fullmatch(f"{method} {path}") is not None


def checks_a_password(method, path):
    """Tell whether a request of this method to this path (as sent, under a proxy's prefix or not) checks a password."""
    return PASSWORD_REQUESTS.fullmatch(f"{method} {path}") is not None


class _LaneThreads(ThreadedTaskDispatcher):
    def __init__(self, name):
        super().__init__()
        self.name = name

    def start_new_thread(self, target, thread_no):  # named apart from the threads that serve pushes
        threading.Thread(target=target, name=f"kubewatch-{self.name}-{thread_no}", args=(thread_no,),
                         daemon=True).start()


class Lanes(ThreadedTaskDispatcher):
    """waitress's task dispatcher with `threads` threads, sign_in_threads more for requests that check
    a password and HEAVY_PUSH_THREADS for big pushes, each lane with a queue of its own; small pushes
    read on the loop thread are left to a LoopChannel to serve there."""

    def __init__(self, threads, sign_in_threads):
        super().__init__()
        self.sign_ins, self.heavy_pushes = _LaneThreads("sign-in"), _LaneThreads("heavy-push")
        self.set_thread_count(threads)
        self.sign_ins.set_thread_count(sign_in_threads)
        self.heavy_pushes.set_thread_count(HEAVY_PUSH_THREADS)

    def add_task(self, task):
        """Queue a connection whose next request is ready, in the lane its request belongs to; a small push
        read on the loop thread is left to its LoopChannel to serve there."""
        requests = getattr(task, "requests", None)
        # Only a LoopChannel reading on its loop thread can serve there: one whose next request was
        # queued by a worker thread, after serving the one before, stays on the workers. So does a
        # push while another is being stored (a big one takes up to hundreds of ms): waiting for it,
        # the loop would read and send nothing for anyone.
        on_loop = getattr(task, "loop_thread", None) == threading.get_ident() and not ONE_PUSH_AT_A_TIME.locked()
        if requests and on_loop and is_loop_push(requests[0].command, requests[0].path, requests[0].content_length,
                                                 "CONTENT_ENCODING" in requests[0].headers):
            task.serve_on_loop = True
        elif requests and checks_a_password(requests[0].command, requests[0].path):
            self.sign_ins.add_task(task)
        elif requests and is_heavy_push(requests[0].command, requests[0].path, requests[0].content_length):
            self.heavy_pushes.add_task(task)
        else:
            super().add_task(task)

    def shutdown(self, cancel_pending=True, timeout=5):
        """Stop every lane's threads."""
        self.sign_ins.shutdown(cancel_pending, timeout)
        self.heavy_pushes.shutdown(cancel_pending, timeout)
        return super().shutdown(cancel_pending, timeout)
