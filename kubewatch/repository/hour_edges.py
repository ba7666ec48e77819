"""Where each agent's one-hour rollups stand: agents.hours_through, the hour before which every hour is merged."""

from sqlalchemy import bindparam, text

from kubewatch.db import read

MINUTE, HOUR = 60, 3600


def hours_through(agent_ids):
    """Return {agent_id: its hours_through, epoch seconds} of these agents, those that still exist."""
    if not agent_ids:
        return {}  # and no statement: PostgreSQL takes no empty IN ()
    with read() as conn:
        return {row[0]: row[1] for row in conn.execute(
            text("SELECT id, hours_through FROM agents WHERE id IN :agent_ids").bindparams(
                bindparam("agent_ids", expanding=True)), {"agent_ids": list(agent_ids)})}


def behind(edge, after, limit):
    """Return up to limit agents whose hours_through is before edge, [(agent_id, hours_through)] by id,
    starting after the agent id after (None: from the first)."""
    with read() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT id, hours_through FROM agents WHERE hours_through < :edge "
            f"{'' if after is None else 'AND id > :after '}ORDER BY id LIMIT :limit"),
            {"edge": edge, "after": after, "limit": limit})]


def hours_with_minutes(kind, agent_ids, start, end):
    """Return {agent_id: [hours]}: the whole hours from start to end in which these agents have a one-minute
    rollup of kind, oldest first (one index range per agent)."""
    found = {}
    with read() as conn:
        for agent_id, hour in conn.execute(text(
                f"SELECT agent_id, bucket - bucket % {HOUR} AS hour FROM {kind.rollups} WHERE agent_id IN :agent_ids "
                f"AND step = {MINUTE} AND bucket >= :start AND bucket < :end GROUP BY agent_id, hour "
                "ORDER BY agent_id, hour").bindparams(bindparam("agent_ids", expanding=True)),
                {"agent_ids": list(agent_ids), "start": start, "end": end}):
            found.setdefault(agent_id, []).append(hour)
    return found


def oldest():
    """Return the earliest hours_through of any agent, or None when there is no agent."""
    with read() as conn:
        return conn.execute(text("SELECT MIN(hours_through) FROM agents")).scalar()


def move(conn, edges):
    """Set these agents' hours_through forward, [(agent_id, hour)]; an agent already past it keeps its own."""
    conn.execute(text("UPDATE agents SET hours_through = :hour WHERE id = :agent_id AND hours_through < :hour"),
                 [{"agent_id": agent_id, "hour": hour} for agent_id, hour in edges])
