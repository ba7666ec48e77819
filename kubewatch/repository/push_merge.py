"""A push from another installation of an agent at a second already stored: merged into that push's row."""

from kubewatch import packing
from kubewatch.kinds import KINDS

_MERGE_PUSH = ("UPDATE pushes SET containers = {0}, nodes = {0}, pods = {0}, rolled_up = 0 "
               "WHERE agent_id = {0} AND ts = {0}")
# Only when the row is the one the agent's state follows: its counts are then the merged row's.
_RECOUNT = ("UPDATE agents SET container_count = {0}, node_count = {0}, pod_count = {0}, running_count = {0}, "
            "restart_total = {0} WHERE id = {0} AND last_push_ts = {0}")
_RUNNING = "SELECT COUNT(*) FROM containers WHERE agent_id = {{0}} AND key IN ({keys}) AND status = 'running'"
_SLICE = 500  # keys asked for in one statement
_RESTARTS = KINDS["containers"].measured.index("restart_count")


def merged_blobs(stored, pushed):
    """Return (blobs, merged) of a push merged into the row stored for its second.

    stored is the row's (containers, nodes, pods) blobs; pushed maps a kind's name to the new
    push's (keys, rows). An object in both keeps the stored sample: the first stored wins, object
    by object. blobs is None when the push adds no object; merged is {kind: {key: row}} of the row as merged.
    """
    blobs, merged, added = [], {}, False
    for blob, (name, kind) in zip(stored, KINDS.items()):
        kept = packing.unpack(kind.metrics, blob) if blob is not None else {}
        for key, row in zip(*pushed.get(name, ((), ()))):
            if key not in kept:
                kept[key] = tuple(row)
                added = True
        keys = sorted(kept)
        blobs.append(packing.pack(kind.metrics, keys, [kept[key] for key in keys]) if kept else None)
        merged[name] = kept
    return (blobs if added else None), merged


def merge_into(writing, agent_id, ts, stored, pushed):
    """Merge a push into the agent's row at ts (stored: its blobs); return the merged row's container keys,
    or None when the push added no object.

    The row is rolled up again, whole, by the next run of the rollup job. When the agent's state
    follows that row, its counts become the merged row's.
    """
    blobs, merged = merged_blobs(stored, pushed)
    if blobs is None:
        return None
    writing.execute(_MERGE_PUSH, (*blobs, agent_id, ts))
    containers = merged["containers"]
    running, keys = 0, sorted(containers)
    for start in range(0, len(keys), _SLICE):
        wanted = keys[start:start + _SLICE]
        running += writing.execute(_RUNNING.format(keys=", ".join(["{0}"] * len(wanted))),
                                   (agent_id, *wanted)).fetchone()[0]
    restarts = sum(row[_RESTARTS] or 0 for row in containers.values())
    writing.execute(_RECOUNT, (*(len(merged[name]) for name in KINDS), running, restarts, agent_id, ts))
    return keys
