"""Agents: registration, listing and deletion."""

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kubewatch.db import driver_sql, read, write
from kubewatch.repository.pushes import forget_agent

_AGENT_COLUMNS = ("id, name, platform, hostname, version, last_seen, last_push_ts, "
                  "container_count, node_count, pod_count, created_at")
# Ids are 32 random bits: a collision is rare, and two in a row would be rarer than a typo.
_ID_ATTEMPTS = 5


def register_agent(org_id, name, hostname, version, platform, now, new_agent_id):
    """Return the id of the org's agent with this name and hostname, creating it when new.

    An existing agent keeps its id (and history) and takes the new version and platform.
    new_agent_id() supplies candidate ids; one that collides is replaced by another.
    """
    for _ in range(_ID_ATTEMPTS):
        try:
            with write() as conn:
                return conn.execute(
                    text("INSERT INTO agents (id, org_id, name, hostname, version, platform, created_at) "
                         "VALUES (:id, :org_id, :name, :hostname, :version, :platform, :now) "
                         "ON CONFLICT (org_id, name, hostname) DO UPDATE "
                         "SET version = excluded.version, platform = excluded.platform "
                         "RETURNING id"),
                    {"id": new_agent_id(), "org_id": org_id, "name": name, "hostname": hostname,
                     "version": version, "platform": platform, "now": now},
                ).scalar_one()
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free agent id")


def agents_for_org(org_id):
    """Return the organization's agents, by name."""
    with read() as conn:
        # Through the driver: SQLAlchemy's row mappings cost more than the query for a thousand agents.
        rows = conn.exec_driver_sql(driver_sql(_ORG_AGENTS), (org_id,)).all()
    return [dict(zip(_NAMES, row)) for row in rows]


_NAMES = tuple(name.strip() for name in _AGENT_COLUMNS.split(","))
_ORG_AGENTS = f"SELECT {_AGENT_COLUMNS} FROM agents WHERE org_id = {{0}} ORDER BY name, id"


def agent_for_org(org_id, agent_id):
    """Return one agent of the organization, or None when it has no such agent."""
    with read() as conn:
        row = conn.execute(
            text(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = :id AND org_id = :org_id"),
            {"id": agent_id, "org_id": org_id},
        ).mappings().first()
        return dict(row) if row else None


def delete_agent(org_id, agent_id):
    """Delete an agent and, through the foreign keys, every metric of it in one transaction.

    Returns False when the organization has no such agent.
    """
    with write([lambda: forget_agent(agent_id)]) as conn:
        deleted = conn.execute(
            text("DELETE FROM agents WHERE id = :id AND org_id = :org_id"),
            {"id": agent_id, "org_id": org_id},
        ).rowcount
    return deleted == 1
