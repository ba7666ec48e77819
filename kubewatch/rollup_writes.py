"""What a rollup run is to write, shared by all its agents, in bounded transactions (see kubewatch/rollup_chunks.py)."""

from itertools import groupby

from kubewatch.db import write
from kubewatch.repository import hour_edges, rollup_rows


class Writes:
    """Rows, hour merges, marks and hour edges queued, each written only after what it depends on: an hour
    merges its minutes once they are all written, a push is marked and an agent's hours_through moved
    once its hours are.

    At most write_rows rows or marks, or hour_keys objects' hours, a transaction; pause() after each.
    """

    def __init__(self, pause, write_rows, hour_keys, marks_held):
        self.pause, self.write_rows, self.hour_keys, self.marks_held = pause, write_rows, hour_keys, marks_held
        # [(kind, row)], [(kind, agent, hour, first key, end key)], [(agent, ts)], [(agent, hour)]
        self.minute_rows, self.hours, self.marks, self.edges = [], [], [], []
        self.keys_queued = 0
        self.closed = {}  # {agent_id: its hours_through}, as read for the page of pushes being queued

    def rows(self, kind, rows):
        self.minute_rows.extend((kind, row) for row in rows)
        if len(self.minute_rows) >= self.write_rows:
            self.flush_rows(whole_only=True)

    def hour(self, kind, agent_id, hour, first_key, end_key):
        if self.keys_queued + end_key - first_key > self.hour_keys:
            self.flush_hours()
        self.hours.append((kind, agent_id, hour, first_key, end_key))
        self.keys_queued += end_key - first_key

    def mark(self, agent_id, stamps):
        # Marking flushes the rows and hours queued, whole slices or not: a page's worth at a time.
        self.marks.extend((agent_id, ts) for ts in stamps)
        if len(self.marks) >= self.marks_held:
            self.flush_marks()

    def edge(self, agent_id, hour):
        self.edges.append((agent_id, hour))
        if len(self.edges) >= self.marks_held:
            self.flush_marks()

    def flush_rows(self, whole_only=False):
        queued = self.minute_rows
        whole = len(queued) - len(queued) % self.write_rows if whole_only else len(queued)
        self.minute_rows = queued[whole:]
        for at in range(0, whole, self.write_rows):
            with write() as conn:
                for kind, rows in groupby(queued[at:min(at + self.write_rows, whole)], key=lambda row: row[0]):
                    rollup_rows.write_minutes(conn, kind, [row for _, row in rows])
            self.pause()

    def flush_hours(self):
        self.flush_rows()
        queued, self.hours, self.keys_queued = self.hours, [], 0
        if queued:
            with write() as conn:
                for kind, agent_id, hour, first_key, end_key in queued:
                    rollup_rows.merge_hour(conn, kind, agent_id, hour, first_key, end_key)
            self.pause()

    def flush_marks(self):
        self.flush_hours()
        queued, self.marks = self.marks, []
        # Oldest first, agent by agent: readers' boundary only moves forward.
        for at in range(0, len(queued), self.write_rows):
            with write() as conn:
                rollup_rows.mark_rolled_up(conn, queued[at:at + self.write_rows])
            self.pause()
        queued, self.edges = self.edges, []
        for at in range(0, len(queued), self.write_rows):
            with write() as conn:
                hour_edges.move(conn, queued[at:at + self.write_rows])
            self.pause()
