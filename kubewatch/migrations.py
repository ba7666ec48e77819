"""Moving a live database from one schema version to the next, in the transaction that opens it."""

import time

from sqlalchemy import inspect, text

from kubewatch import packing
from kubewatch.kinds import KINDS

# The version 1 tables that held one row per sample, by kind.
_V1_SAMPLES = {"containers": ("container_samples", "container_key"),
               "nodes": ("node_samples", "node_key"),
               "pods": ("pod_samples", "pod_key")}


def to_version_2(conn):
    """Pack version 1's rows of samples into one row per push, and count nodes and pods per agent."""
    for statement in (
        "ALTER TABLE agents ADD COLUMN node_count BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE agents ADD COLUMN pod_count BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE pushes ADD COLUMN rolled_up BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE pushes ADD COLUMN containers BYTEA",
        "ALTER TABLE pushes ADD COLUMN nodes BYTEA",
        "ALTER TABLE pushes ADD COLUMN pods BYTEA",
    ):
        conn.execute(text(statement))
    for name, (table, key_column) in _V1_SAMPLES.items():
        kind = KINDS[name]
        rows = conn.execute(text(  # the table names come from the dict above, never from input
            f"SELECT agent_id, ts, {key_column}, {', '.join(kind.measured)} FROM {table} "
            f"ORDER BY agent_id, ts, {key_column}"))
        pushes, current = [], None
        for agent_id, ts, key, *values in rows:
            if current is None or current["agent_id"] != agent_id or current["ts"] != ts:
                current = {"agent_id": agent_id, "ts": ts, "keys": [], "rows": []}
                pushes.append(current)
            current["keys"].append(key)
            current["rows"].append(values)
        if pushes:
            conn.execute(text(f"UPDATE pushes SET {name} = :blob WHERE agent_id = :agent_id AND ts = :ts"), [
                {"blob": packing.pack(kind.metrics, push["keys"], push["rows"]), "agent_id": push["agent_id"],
                 "ts": push["ts"]} for push in pushes])
        conn.execute(text(f"DROP TABLE {table}"))
    for name in ("nodes", "pods"):
        # An agent's latest push tells how many nodes and pods it has.
        for agent_id, blob in conn.execute(text(
                f"SELECT p.agent_id, p.{name} FROM pushes p JOIN agents a "
                f"ON a.id = p.agent_id AND a.last_push_ts = p.ts WHERE p.{name} IS NOT NULL")).all():
            count = len(packing.unpack(KINDS[name].metrics, blob))
            conn.execute(text(f"UPDATE agents SET {name[:-1]}_count = :count WHERE id = :id"),
                         {"count": count, "id": agent_id})


def to_version_3(conn):
    """Change nothing: version 3 packs samples with zstd and still reads version 2's deflated rows.

    The new number keeps an older server, which cannot read zstd, from opening the database.
    """


def to_version_4(conn):
    """Give API keys a scope: every existing key stays an ingest key."""
    conn.execute(text("ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'ingest' "
                      "CHECK (scope IN ('ingest', 'read'))"))


def to_version_5(conn):
    """Add the container's health, exit code and OOM kill; schema.sql then adds alerting's tables."""
    have = {column["name"] for column in inspect(conn).get_columns("containers")}
    for column, type_ in (("health", "TEXT"), ("exit_code", "BIGINT"), ("oom_killed", "BIGINT")):
        if column not in have:  # a database set back to an older version number may have them
            conn.execute(text(f"ALTER TABLE containers ADD COLUMN {column} {type_}"))


def to_version_6(conn):
    """Know agents by instanceId when they send one: new columns, and the name rule only for the others.

    SQLite cannot drop the old UNIQUE (org_id, name, hostname): the table is rebuilt from
    schema.sql's definition, its rows copied whole (db_setup.init_db runs this with foreign keys off).
    """
    columns = ("id, org_id, name, hostname, version, platform, created_at, last_seen, last_push_ts, "
               "container_count, node_count, pod_count")
    if conn.dialect.name == "sqlite":
        from kubewatch.db_setup import schema_statements
        [create] = [s for s in schema_statements() if "CREATE TABLE IF NOT EXISTS agents (" in s]
        conn.execute(text(create.replace("CREATE TABLE IF NOT EXISTS agents (", "CREATE TABLE agents_v6 (")))
        conn.execute(text(f"INSERT INTO agents_v6 ({columns}, state_at) SELECT {columns}, last_push_ts FROM agents"))
        conn.execute(text("DROP TABLE agents"))
        conn.execute(text("ALTER TABLE agents_v6 RENAME TO agents"))
        return
    for statement in ("ALTER TABLE agents DROP CONSTRAINT IF EXISTS agents_org_id_name_hostname_key",
                      "ALTER TABLE agents ADD COLUMN instance_id TEXT",
                      "ALTER TABLE agents ADD COLUMN state_at BIGINT",
                      "ALTER TABLE agents ADD COLUMN clock_skew BIGINT",
                      "UPDATE agents SET state_at = last_push_ts"):
        conn.execute(text(statement))


def to_version_7(conn):
    """Count the running, stopped and restarted containers of each agent's newest push."""
    have = {column["name"] for column in inspect(conn).get_columns("agents")}
    for column in ("running_count BIGINT NOT NULL DEFAULT 0", "stopped_count BIGINT NOT NULL DEFAULT 0",
                   "restart_total BIGINT NOT NULL DEFAULT 0", "restarted_at BIGINT"):
        if column.split()[0] not in have:  # on SQLite, version 6 rebuilt agents with them
            conn.execute(text(f"ALTER TABLE agents ADD COLUMN {column}"))
    kind = KINDS["containers"]
    restarts = kind.measured.index("restart_count")
    for agent_id, blob in conn.execute(text(
            "SELECT p.agent_id, p.containers FROM pushes p JOIN agents a "
            "ON a.id = p.agent_id AND a.last_push_ts = p.ts WHERE p.containers IS NOT NULL")).all():
        latest = packing.unpack(kind.metrics, blob)
        described = {row[0]: row[1:] for row in conn.execute(text(
            "SELECT key, status, first_seen, described_at FROM containers WHERE agent_id = :id"), {"id": agent_id})}
        found = [described[key] for key in latest if key in described]
        conn.execute(text("UPDATE agents SET running_count = :running, stopped_count = :stopped, "
                          "restart_total = :restarts WHERE id = :id"), {
            "running": sum(1 for status, _, _ in found if status == "running"),
            "stopped": sum(1 for status, first, last in found
                           if status not in (None, "running", "paused") and last > first),
            "restarts": sum(values[restarts] or 0 for values in latest.values()), "id": agent_id})


def to_version_8(conn):
    """Add the revocation generation; schema.sql creates its table and first row.

    Agent tokens now name the API key their agent registered with, so that revoking the key stops
    them: older tokens are refused once, and their agents register again.
    """


def to_version_9(conn):
    """Give API keys the time of their last use (unknown for the keys made before); count failed
    sign-ins in the database, where every server process sees them (schema.sql creates that table);
    date each agent's state (state_at), which versions 6 to 8 left as they found it.

    Failures counted in memory by a version 8 server are forgotten: at most one window of them.
    From version 9 on a push takes the state only when it happened after the state's push (see
    kubewatch/repository/pushes.py): its timestamp, or its receive time when stamped later.
    """
    if "last_used_at" not in {column["name"] for column in inspect(conn).get_columns("api_keys")}:
        conn.execute(text("ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT"))
    conn.execute(text("UPDATE agents SET state_at = CASE WHEN last_seen < last_push_ts THEN last_seen "
                      "ELSE last_push_ts END"))


def to_version_10(conn):
    """Give agents the version of what describes their objects, so that several server processes agree on it."""
    if "descriptions_version" not in {column["name"] for column in inspect(conn).get_columns("agents")}:
        conn.execute(text("ALTER TABLE agents ADD COLUMN descriptions_version BIGINT NOT NULL DEFAULT 0"))


def to_version_11(conn):
    """Date what each agent's one-hour rollups hold (hours_through): up to version 10 every hour was
    merged again each minute, so every hour before the current one is whole; the current one is
    merged once it is over (kubewatch/rollup_hours.py)."""
    if "hours_through" not in {column["name"] for column in inspect(conn).get_columns("agents")}:
        conn.execute(text("ALTER TABLE agents ADD COLUMN hours_through BIGINT NOT NULL DEFAULT 0"))
    now = int(time.time())
    conn.execute(text("UPDATE agents SET hours_through = :hour"), {"hour": now - now % 3600})


# Migrations from version N to N+1, applied in order to a live database on start.
MIGRATIONS = {1: to_version_2, 2: to_version_3, 3: to_version_4, 4: to_version_5, 5: to_version_6, 6: to_version_7,
              7: to_version_8, 8: to_version_9, 9: to_version_10,
              10: to_version_11}
