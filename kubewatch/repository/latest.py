"""The latest state of an organization: each agent, its latest push, and what describes each object."""

from kubewatch.db import driver, read

# Each kind's description columns as the exporter labels them, after agent_id and key.
_DESCRIPTIONS = {
    "containers": "o.runtime_id, o.name, o.image, o.status",
    "nodes": "o.name, o.status",
    "pods": "o.namespace, o.name, o.node_name, o.phase",
}
_AGENTS = ("SELECT a.id, a.name, a.platform, a.last_seen, p.containers, p.nodes, p.pods FROM agents a "
           "LEFT JOIN pushes p ON p.agent_id = a.id AND p.ts = a.last_push_ts "
           "WHERE a.org_id = {0} ORDER BY a.name, a.id")
# Every change to an agent's objects adds one (a new object) or raises one described_at (a newer
# description: see repository/pushes.py), so these two numbers change whenever a description does.
_SIGNATURES = ("SELECT o.agent_id, COUNT(*), SUM(o.described_at) FROM {kind} o JOIN agents a ON a.id = o.agent_id "
               "WHERE a.org_id = {{0}} GROUP BY o.agent_id")
_ALL_OF_ORG = "SELECT o.agent_id, o.key, {columns} FROM {kind} o JOIN agents a ON a.id = o.agent_id WHERE a.org_id = {{0}}"
_OF_AGENTS = "SELECT o.agent_id, o.key, {columns} FROM {kind} o WHERE o.agent_id IN ({marks})"
_FEW = 200  # agents whose descriptions are asked for by id; more, and the organization's are read whole


def latest_state(org_id, known):
    """Return (agents, signatures, descriptions) of an organization, read in one snapshot (on SQLite).

    agents: [(id, name, platform, last_seen, {kind: blob or None})], by name; a blob is the kind's
    packed samples of the agent's latest push (see kubewatch/packing.py), None when it had none.
    signatures: {kind: {agent_id: signature}}, a value that changes whenever any description does.
    known: {(kind, agent_id): signature} of the descriptions the caller holds already.
    descriptions: {kind: {agent_id: {key: description}}} for the agents whose signature is not the
    known one; a description is a tuple of text in the order of _DESCRIPTIONS.
    """
    with read() as conn:
        transaction = conn.begin()  # rolled back at the end: read only, nothing to keep
        # On the driver's own cursor: SQLAlchemy's rows cost more than the reads, for 30,000 objects.
        cursor = driver(conn)
        if conn.dialect.name == "sqlite":
            cursor.execute("BEGIN")  # one snapshot: the descriptions cover every key of the pushes read
        try:
            rows = cursor.execute(_AGENTS, (org_id,)).fetchall()
            signatures, descriptions = {}, {}
            for kind, columns in _DESCRIPTIONS.items():  # kind and columns come from here, never from input
                signed = cursor.execute(_SIGNATURES.format(kind=kind), (org_id,)).fetchall()
                signatures[kind] = {agent_id: (count, total) for agent_id, count, total in signed}
                changed = [agent_id for agent_id, signature in signatures[kind].items()
                           if known.get((kind, agent_id)) != signature]
                descriptions[kind] = _descriptions(cursor, kind, columns, org_id, changed)
        finally:
            transaction.rollback()
    agents = [(row[0], row[1], row[2], row[3], {"containers": row[4], "nodes": row[5], "pods": row[6]})
              for row in rows]
    return agents, signatures, descriptions


def _descriptions(cursor, kind, columns, org_id, agent_ids):
    """Return {agent_id: {key: description}} of the given agents."""
    found = {agent_id: {} for agent_id in agent_ids}
    if not agent_ids:
        return found
    if len(agent_ids) > _FEW:
        rows = cursor.execute(_ALL_OF_ORG.format(kind=kind, columns=columns), (org_id,)).fetchall()
    else:
        marks = ", ".join(["{0}"] * len(agent_ids))
        rows = cursor.execute(_OF_AGENTS.format(kind=kind, columns=columns, marks=marks), agent_ids).fetchall()
    for row in rows:
        of_agent = found.get(row[0])
        if of_agent is not None:
            of_agent[row[1]] = tuple(row[2:])
    return found
