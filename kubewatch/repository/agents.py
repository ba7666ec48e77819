"""Agents: registration, listing and deletion."""

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kubewatch.db import read, write
from kubewatch.repository import agent_deletion

_AGENT_COLUMNS = ("id, name, platform, hostname, version, last_seen, last_push_ts, "
                  "container_count, node_count, pod_count, created_at, running_count, stopped_count, restarted_at, "
                  "clock_skew")
# Ids are 32 random bits: a collision is rare, and two in a row would be rarer than a typo.
_ID_ATTEMPTS = 5


def register_agent(org_id, name, hostname, version, platform, now, new_agent_id, instance_id=None):
    """Return the id of the org's agent registering with this identity, creating it when new.

    With instance_id, the agent is the org's one with that instance_id: a new name or hostname is
    a rename, and it keeps its id. One registered before instance ids, with this name and hostname
    and none, takes the instance_id (and keeps its history). Without instance_id, the agent is the
    one of this name and hostname that has none. An existing agent takes the new version and platform.
    new_agent_id() supplies candidate ids; one that collides is replaced by another.
    """
    values = {"org_id": org_id, "name": name, "hostname": hostname, "version": version, "platform": platform,
              "now": now, "instance_id": instance_id, "hour": now - now % 3600}
    for _ in range(_ID_ATTEMPTS):
        try:
            with write() as conn:
                if instance_id is not None:
                    conn.execute(text(_CLAIM), values)  # a no-op when the instance is known or nothing matches
                return conn.execute(text(_REGISTER_INSTANCE if instance_id else _REGISTER_NAME),
                                    {**values, "id": new_agent_id()}).scalar_one()
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free agent id")


# A new agent's hours before the one it registers in are merged as its pushes for them are rolled up.
_INSERT = ("INSERT INTO agents (id, org_id, name, hostname, version, platform, created_at, instance_id, hours_through) "
           "VALUES (:id, :org_id, :name, :hostname, :version, :platform, :now, :instance_id, :hour) ")
_REGISTER_NAME = _INSERT + (
    "ON CONFLICT (org_id, name, hostname) WHERE instance_id IS NULL DO UPDATE "
    "SET version = excluded.version, platform = excluded.platform RETURNING id")
_REGISTER_INSTANCE = _INSERT + (
    "ON CONFLICT (org_id, instance_id) WHERE instance_id IS NOT NULL DO UPDATE "
    "SET name = excluded.name, hostname = excluded.hostname, version = excluded.version, "
    "platform = excluded.platform RETURNING id")
_CLAIM = ("UPDATE agents SET instance_id = :instance_id WHERE org_id = :org_id AND name = :name "
          "AND hostname = :hostname AND instance_id IS NULL AND NOT EXISTS "
          "(SELECT 1 FROM agents known WHERE known.org_id = :org_id AND known.instance_id = :instance_id)")


def agents_for_org(org_id):
    """Return the organization's agents, by name."""
    with read() as conn:
        # Rows zipped with the names here: SQLAlchemy's row mappings cost more than the query for a thousand agents.
        rows = conn.execute(_ORG_AGENTS, {"org_id": org_id}).all()
    return [dict(zip(_NAMES, row)) for row in rows]


_NAMES = tuple(name.strip() for name in _AGENT_COLUMNS.split(","))
_ORG_AGENTS = text(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE org_id = :org_id ORDER BY name, id")


def agent_for_org(org_id, agent_id):
    """Return one agent of the organization, or None when it has no such agent."""
    with read() as conn:
        row = conn.execute(
            text(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = :id AND org_id = :org_id"),
            {"id": agent_id, "org_id": org_id},
        ).mappings().first()
        return dict(row) if row else None


def delete_agent(org_id, agent_id):
    """Delete an agent and every metric of it, in chunks (repository/agent_deletion.py).

    Returns False when the organization has no such agent.
    """
    return agent_deletion.delete_agent(org_id, agent_id)
