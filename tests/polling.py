"""Waiting for what happens in another thread or process: the one polling loop of the tests."""

import time


def wait_until(check, what, timeout=30, every=0.1, alive=None, ignore=(), explain=None):
    """Return check()'s first truthy result, asked every `every` seconds.

    Fails (AssertionError) naming `what` after timeout seconds, or as soon as alive() (when given)
    is false: the thread or process that should make it happen has ended. An exception of a type
    in ignore counts as not yet. explain() (when given) adds what the failure should show.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except ignore:
            found = None
        if found:
            return found
        if alive is not None and not alive():
            _fail(f"{what}: ended before it happened", explain)
        if time.monotonic() >= deadline:
            _fail(f"timed out after {timeout} s waiting for {what}", explain)
        time.sleep(every)


def _fail(message, explain):
    raise AssertionError(message + (f"\n{explain()}" if explain else ""))
