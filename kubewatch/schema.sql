-- The one definition of kubewatch's tables, in the SQL that SQLite and PostgreSQL share:
-- app-generated text ids, integer epoch seconds, ON CONFLICT upserts. BIGINT and DOUBLE PRECISION
-- are 64-bit in both (SQLite reads them as INTEGER and REAL); BYTEA is PostgreSQL's blob, which
-- SQLite stores as it is. Each statement ends with a semicolon
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
    revoked_at  BIGINT,
    -- ingest keys register agents; read keys scrape /metrics and read, and change nothing.
    scope       TEXT NOT NULL DEFAULT 'ingest' CHECK (scope IN ('ingest', 'read'))
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
    node_count       BIGINT NOT NULL DEFAULT 0,
    pod_count        BIGINT NOT NULL DEFAULT 0,
    UNIQUE (org_id, name, hostname)
);

-- The raw tier: one row per push received, its samples packed per kind (kubewatch/packing.py),
-- so a push is one row and a container sample costs about 30 bytes. The primary key makes a
-- retried push (same agent, same timestamp) a no-op and keeps each agent's pushes in time order.
-- rolled_up is 0 until the push is counted in the one-minute and one-hour rollups.
CREATE TABLE IF NOT EXISTS pushes (
    agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ts           BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    rolled_up    BIGINT NOT NULL DEFAULT 0,
    containers   BYTEA,
    nodes        BYTEA,
    pods         BYTEA,
    PRIMARY KEY (agent_id, ts)
);

-- What describes a container lives here once; samples and rollups refer to it by a small per-agent key.
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

-- The rollup tiers: one row per object and bucket, step 60 (kept MINUTE_RETENTION) or 3600
-- (kept HOUR_RETENTION). Per metric (see kubewatch/kinds.py): a gauge keeps its average, maximum
-- and how many samples measured it; a counter its average rate per second and how many rates
-- went into it; a setting or total its last value. Averages merge exactly, weighted by _n.
-- WITHOUT ROWID keeps a row in the primary key's tree alone (PostgreSQL ignores the clause: see db.py).
CREATE TABLE IF NOT EXISTS container_rollups (
    agent_id              TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key                   BIGINT NOT NULL,
    step                  BIGINT NOT NULL,
    bucket                BIGINT NOT NULL,
    samples               BIGINT NOT NULL,
    cpu_percent_avg       DOUBLE PRECISION,
    cpu_percent_max       DOUBLE PRECISION,
    cpu_percent_n         BIGINT NOT NULL,
    memory_mb_avg         DOUBLE PRECISION,
    memory_mb_max         DOUBLE PRECISION,
    memory_mb_n           BIGINT NOT NULL,
    memory_limit_mb       DOUBLE PRECISION,
    network_rx_bytes_rate DOUBLE PRECISION,
    network_rx_bytes_n    BIGINT NOT NULL,
    network_tx_bytes_rate DOUBLE PRECISION,
    network_tx_bytes_n    BIGINT NOT NULL,
    restart_count         BIGINT,
    PRIMARY KEY (agent_id, key, step, bucket)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS node_rollups (
    agent_id              TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key                   BIGINT NOT NULL,
    step                  BIGINT NOT NULL,
    bucket                BIGINT NOT NULL,
    samples               BIGINT NOT NULL,
    cpu_percent_avg       DOUBLE PRECISION,
    cpu_percent_max       DOUBLE PRECISION,
    cpu_percent_n         BIGINT NOT NULL,
    memory_mb_avg         DOUBLE PRECISION,
    memory_mb_max         DOUBLE PRECISION,
    memory_mb_n           BIGINT NOT NULL,
    pod_count_avg         DOUBLE PRECISION,
    pod_count_max         DOUBLE PRECISION,
    pod_count_n           BIGINT NOT NULL,
    network_rx_bytes_rate DOUBLE PRECISION,
    network_rx_bytes_n    BIGINT NOT NULL,
    network_tx_bytes_rate DOUBLE PRECISION,
    network_tx_bytes_n    BIGINT NOT NULL,
    fs_used_bytes_avg     DOUBLE PRECISION,
    fs_used_bytes_max     DOUBLE PRECISION,
    fs_used_bytes_n       BIGINT NOT NULL,
    fs_capacity_bytes     BIGINT,
    PRIMARY KEY (agent_id, key, step, bucket)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS pod_rollups (
    agent_id              TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key                   BIGINT NOT NULL,
    step                  BIGINT NOT NULL,
    bucket                BIGINT NOT NULL,
    samples               BIGINT NOT NULL,
    cpu_percent_avg       DOUBLE PRECISION,
    cpu_percent_max       DOUBLE PRECISION,
    cpu_percent_n         BIGINT NOT NULL,
    memory_mb_avg         DOUBLE PRECISION,
    memory_mb_max         DOUBLE PRECISION,
    memory_mb_n           BIGINT NOT NULL,
    memory_limit_mb       DOUBLE PRECISION,
    network_rx_bytes_rate DOUBLE PRECISION,
    network_rx_bytes_n    BIGINT NOT NULL,
    network_tx_bytes_rate DOUBLE PRECISION,
    network_tx_bytes_n    BIGINT NOT NULL,
    restart_count         BIGINT,
    PRIMARY KEY (agent_id, key, step, bucket)
) WITHOUT ROWID;

-- Finds the pushes not yet rolled up without reading the ones that are.
CREATE INDEX IF NOT EXISTS pushes_to_roll_up ON pushes (agent_id, ts) WHERE rolled_up = 0;
CREATE INDEX IF NOT EXISTS users_org ON users (org_id);
CREATE INDEX IF NOT EXISTS api_keys_org ON api_keys (org_id);

-- Later versions migrate a live database from the version recorded here (see kubewatch/db.py).
INSERT INTO schema_version (version) SELECT 4 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
