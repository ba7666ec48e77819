-- The one definition of kubewatch's tables, in the SQL that SQLite and PostgreSQL share:
-- app-generated text ids, integer epoch seconds, ON CONFLICT upserts. BIGINT and DOUBLE PRECISION
-- are 64-bit in both (SQLite reads them as INTEGER and REAL). Each statement ends with a semicolon
-- at the end of its line.
-- Every statement is safe to run twice: `flask init-db` and the first start run this file.

CREATE TABLE IF NOT EXISTS schema_version (
    version BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at     BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE IF NOT EXISTS agents (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    hostname         TEXT NOT NULL,
    version          TEXT,
    platform         TEXT,
    created_at       BIGINT NOT NULL,
    last_seen        BIGINT,
    last_push_ts     BIGINT,
    container_count  BIGINT NOT NULL DEFAULT 0,
    UNIQUE (org_id, name, hostname)
);

-- One row per push received: makes a retried push (same agent, same timestamp) a no-op.
CREATE TABLE IF NOT EXISTS pushes (
    agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ts           BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (agent_id, ts)
);

-- What describes a container lives here once; samples refer to it by a small per-agent key.
-- described_at is the timestamp of the push whose description is kept: a late replay never overwrites a newer one.
CREATE TABLE IF NOT EXISTS containers (
    agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key          BIGINT NOT NULL,
    runtime_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    image        TEXT,
    status       TEXT,
    first_seen   BIGINT NOT NULL,
    described_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, key),
    UNIQUE (agent_id, runtime_id)
);

-- Samples are keyed agent first, then time, so each push appends to one place of the index.
CREATE TABLE IF NOT EXISTS container_samples (
    agent_id          TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ts                BIGINT NOT NULL,
    container_key     BIGINT NOT NULL,
    cpu_percent       DOUBLE PRECISION,
    memory_mb         DOUBLE PRECISION,
    memory_limit_mb   DOUBLE PRECISION,
    network_rx_bytes  BIGINT,
    network_tx_bytes  BIGINT,
    restart_count     BIGINT,
    PRIMARY KEY (agent_id, ts, container_key)
);

CREATE TABLE IF NOT EXISTS nodes (
    agent_id            TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key                 BIGINT NOT NULL,
    name                TEXT NOT NULL,
    status              TEXT,
    kubelet_version     TEXT,
    cpu_cores           DOUBLE PRECISION,
    memory_capacity_mb  DOUBLE PRECISION,
    pod_capacity        BIGINT,
    first_seen          BIGINT NOT NULL,
    described_at        BIGINT NOT NULL,
    PRIMARY KEY (agent_id, key),
    UNIQUE (agent_id, name)
);

CREATE TABLE IF NOT EXISTS node_samples (
    agent_id           TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ts                 BIGINT NOT NULL,
    node_key           BIGINT NOT NULL,
    cpu_percent        DOUBLE PRECISION,
    memory_mb          DOUBLE PRECISION,
    pod_count          BIGINT,
    network_rx_bytes   BIGINT,
    network_tx_bytes   BIGINT,
    fs_used_bytes      BIGINT,
    fs_capacity_bytes  BIGINT,
    PRIMARY KEY (agent_id, ts, node_key)
);

CREATE TABLE IF NOT EXISTS pods (
    agent_id          TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key               BIGINT NOT NULL,
    namespace         TEXT NOT NULL,
    name              TEXT NOT NULL,
    uid               TEXT,
    node_name         TEXT,
    phase             TEXT,
    ready             BIGINT,
    container_count   BIGINT,
    ready_containers  BIGINT,
    first_seen        BIGINT NOT NULL,
    described_at      BIGINT NOT NULL,
    PRIMARY KEY (agent_id, key),
    UNIQUE (agent_id, namespace, name)
);

CREATE TABLE IF NOT EXISTS pod_samples (
    agent_id          TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ts                BIGINT NOT NULL,
    pod_key           BIGINT NOT NULL,
    cpu_percent       DOUBLE PRECISION,
    memory_mb         DOUBLE PRECISION,
    memory_limit_mb   DOUBLE PRECISION,
    network_rx_bytes  BIGINT,
    network_tx_bytes  BIGINT,
    restart_count     BIGINT,
    PRIMARY KEY (agent_id, ts, pod_key)
);

CREATE INDEX IF NOT EXISTS users_org ON users (org_id);
CREATE INDEX IF NOT EXISTS api_keys_org ON api_keys (org_id);

-- Later versions migrate a live database from the version recorded here (see kubewatch/db.py).
INSERT INTO schema_version (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
