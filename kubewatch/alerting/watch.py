"""What the evaluator remembers of each container name: seen running, its id, its restarts.

Containers are followed by name, not id: `docker compose up` recreates a container under a new
id, and that is not a stop. The memory is kept in the database (watched_containers), so a
restart of the server neither forgets a container that was running nor takes it for new.
"""

from typing import NamedTuple

STOPPED = frozenset({"exited", "dead"})


class Watched(NamedTuple):
    runtime_id: str
    running: bool  # running in the latest push; False when stopped or missing from it
    seen_running: bool
    restart_count: int | None
    restarted_at: int | None  # when the evaluator saw its latest restart


def follow(known, containers, now):
    """Return {name: Watched} for one agent after its latest push, from what was known before.

    containers: the descriptions and latest values of the push's containers, as (description, values).
    """
    followed = dict(known)
    present = set()
    for description, restart_count in containers:
        name = description["name"]
        present.add(name)
        running = description["status"] == "running"
        before = known.get(name)
        if before is not None and before.running == running and before.runtime_id == description["runtime_id"] \
                and before.restart_count == restart_count:
            continue  # as it was: the usual case
        restarted_at = before.restarted_at if before else None
        if before is not None and _restarted(before, description["runtime_id"], restart_count, running):
            restarted_at = now
        followed[name] = Watched(description["runtime_id"], running, running or bool(before and before.seen_running),
                                 restart_count, restarted_at)
    for name, before in known.items():
        if name not in present and before.running:
            followed[name] = before._replace(running=False)  # missing from the push
    return followed


def _restarted(before, runtime_id, restart_count, running):
    """Return True when the restart count rose, or the container came back under a new id after a stop."""
    if runtime_id == before.runtime_id:
        return restart_count is not None and before.restart_count is not None and restart_count > before.restart_count
    return running and before.seen_running and not before.running
