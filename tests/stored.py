"""Reading what a test stored straight from the database: the samples packed in each push row."""

import zlib

from kubewatch import packing
from kubewatch.kinds import KINDS


def unpacked(rows, kind="containers"):
    """Return [(ts, key, values)] from (ts, blob) rows, values in the order of KINDS[kind].metrics."""
    found = []
    for ts, blob in rows:
        if blob is not None:
            for key, values in sorted(packing.unpack(KINDS[kind].metrics, blob).items()):
                found.append((ts, key, values))
    return found


def deflated(blob):
    """Return a packed blob as schema version 2 wrote it: its columns deflated, format byte 1."""
    return bytes([packing.DEFLATED]) + zlib.compress(packing._decompressed(blob), 6, -15)


def samples(query, kind="containers", agent_id=None):
    """Return every stored sample of a kind as (ts, key, values), oldest first; query is the conftest fixture."""
    where = " WHERE agent_id = :agent_id" if agent_id else ""
    return unpacked(query(f"SELECT ts, {kind} FROM pushes{where} ORDER BY agent_id, ts", agent_id=agent_id), kind)


def count(query, kind="containers"):
    """Return how many samples of a kind are stored."""
    return len(samples(query, kind))
