"""The server's writer lock, wrapped to record each hold taken by one thread: how many rows went, and how long."""

import threading
import time


class HeldLock:
    """Stands in for the writer lock; holds is [(rows gone, seconds held)] for each hold by thread_name.

    count_rows() returns how many rows the thing being deleted still has, read on another connection.
    """

    def __init__(self, lock, thread_name, count_rows):
        self.lock, self.thread_name, self.count_rows = lock, thread_name, count_rows
        self.holds, self._since, self._rows = [], 0.0, 0

    def __enter__(self):
        self.lock.acquire()
        if threading.current_thread().name == self.thread_name:
            self._rows = self.count_rows()
        self._since = time.perf_counter()

    def __exit__(self, *exc):
        if threading.current_thread().name == self.thread_name:  # committed by now: another connection sees it
            held = time.perf_counter() - self._since
            self.holds.append((self._rows - self.count_rows(), held))
        self.lock.release()
