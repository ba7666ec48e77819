-- The one definition of kubewatch's tables, in the SQL that SQLite and PostgreSQL share:
-- app-generated text ids, integer epoch seconds, ON CONFLICT upserts. Each statement ends with a semicolon at the end of its line.
-- Every statement is safe to run twice: `flask init-db` and the first start run this file.

CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at     INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE IF NOT EXISTS agents (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    hostname         TEXT NOT NULL,
    version          TEXT,
    platform         TEXT,
    created_at       INTEGER NOT NULL,
    last_seen        INTEGER,
    last_push_ts     INTEGER,
    container_count  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (org_id, name, hostname)
);

-- One row per push received: makes a retried push (same agent, same timestamp) a no-op.
CREATE TABLE IF NOT EXISTS pushes (
    agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ts           INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (agent_id, ts)
);

-- What describes a container lives here once; samples refer to it by a small per-agent key.
-- described_at is the timestamp of the push whose description is kept: a late replay never overwrites a newer one.
CREATE TABLE IF NOT EXISTS containers (
    agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key          INTEGER NOT NULL,
    runtime_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    image        TEXT,
    status       TEXT,
    first_seen   INTEGER NOT NULL,
    described_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, key),
    UNIQUE (agent_id, runtime_id)
);

-- Samples are keyed agent first, then time, so each push appends to one place of the index.
CREATE TABLE IF NOT EXISTS container_samples (
    agent_id          TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ts                INTEGER NOT NULL,
    container_key     INTEGER NOT NULL,
    cpu_percent       REAL,
    memory_mb         REAL,
    memory_limit_mb   REAL,
    network_rx_bytes  INTEGER,
    network_tx_bytes  INTEGER,
    restart_count     INTEGER,
    PRIMARY KEY (agent_id, ts, container_key)
);

CREATE TABLE IF NOT EXISTS nodes (
    agent_id            TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key                 INTEGER NOT NULL,
    name                TEXT NOT NULL,
    status              TEXT,
    kubelet_version     TEXT,
    cpu_cores           REAL,
    memory_capacity_mb  REAL,
    pod_capacity        INTEGER,
    first_seen          INTEGER NOT NULL,
    described_at        INTEGER NOT NULL,
    PRIMARY KEY (agent_id, key),
    UNIQUE (agent_id, name)
);

CREATE TABLE IF NOT EXISTS node_samples (
    agent_id           TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ts                 INTEGER NOT NULL,
    node_key           INTEGER NOT NULL,
    cpu_percent        REAL,
    memory_mb          REAL,
    pod_count          INTEGER,
    network_rx_bytes   INTEGER,
    network_tx_bytes   INTEGER,
    fs_used_bytes      INTEGER,
    fs_capacity_bytes  INTEGER,
    PRIMARY KEY (agent_id, ts, node_key)
);

CREATE TABLE IF NOT EXISTS pods (
    agent_id          TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key               INTEGER NOT NULL,
    namespace         TEXT NOT NULL,
    name              TEXT NOT NULL,
    uid               TEXT,
    node_name         TEXT,
    phase             TEXT,
    ready             INTEGER,
    container_count   INTEGER,
    ready_containers  INTEGER,
    first_seen        INTEGER NOT NULL,
    described_at      INTEGER NOT NULL,
    PRIMARY KEY (agent_id, key),
    UNIQUE (agent_id, namespace, name)
);

CREATE TABLE IF NOT EXISTS pod_samples (
    agent_id          TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ts                INTEGER NOT NULL,
    pod_key           INTEGER NOT NULL,
    cpu_percent       REAL,
    memory_mb         REAL,
    memory_limit_mb   REAL,
    network_rx_bytes  INTEGER,
    network_tx_bytes  INTEGER,
    restart_count     INTEGER,
    PRIMARY KEY (agent_id, ts, pod_key)
);

CREATE INDEX IF NOT EXISTS users_org ON users (org_id);
CREATE INDEX IF NOT EXISTS api_keys_org ON api_keys (org_id);

-- Later versions migrate a live database from the version recorded here (see kubewatch/db.py).
INSERT INTO schema_version (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
