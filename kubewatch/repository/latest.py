"""The latest state of an organization: each agent, its latest push, and what describes each object."""

from kubewatch.db import driver_sql, read

# Each kind's description columns as the exporter labels them, after agent_id and key.
_DESCRIPTIONS = {
    "containers": "o.runtime_id, o.name, o.image, o.status",
    "nodes": "o.name, o.status",
    "pods": "o.namespace, o.name, o.node_name, o.phase",
}
_AGENTS = ("SELECT a.id, a.name, a.platform, a.last_seen, p.containers, p.nodes, p.pods FROM agents a "
           "LEFT JOIN pushes p ON p.agent_id = a.id AND p.ts = a.last_push_ts "
           "WHERE a.org_id = {0} ORDER BY a.name, a.id")


def latest_state(org_id):
    """Return (agents, descriptions) of an organization, read in one transaction.

    agents: [(id, name, platform, last_seen, {kind: blob or None})], by name; a blob is the kind's
    packed samples of the agent's latest push (see kubewatch/packing.py), None when it had none.
    descriptions: {kind: {(agent_id, key): description}}, each description a tuple of text in the
    order of _DESCRIPTIONS; it holds every object ever described, pushed latest or not.
    """
    with read() as conn:
        # On the driver's own cursor: SQLAlchemy's rows cost more than the reads, for 30,000 objects.
        connection = conn.connection.dbapi_connection
        cursor = connection.cursor()
        if conn.dialect.name == "sqlite":
            cursor.execute("BEGIN")  # one snapshot: the descriptions cover every key of the pushes read
        try:
            cursor.execute(driver_sql(_AGENTS), (org_id,))
            rows = cursor.fetchall()
            descriptions = {}
            for kind, columns in _DESCRIPTIONS.items():
                cursor.execute(driver_sql(  # the table names come from _DESCRIPTIONS, never from input
                    f"SELECT o.agent_id, o.key, {columns} FROM {kind} o JOIN agents a ON a.id = o.agent_id "
                    f"WHERE a.org_id = {{0}}"), (org_id,))
                descriptions[kind] = {(row[0], row[1]): tuple(row[2:]) for row in cursor.fetchall()}
        finally:
            connection.rollback()  # read only: nothing to keep
    agents = [(row[0], row[1], row[2], row[3], {"containers": row[4], "nodes": row[5], "pods": row[6]})
              for row in rows]
    return agents, descriptions
