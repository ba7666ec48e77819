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
    scope       TEXT NOT NULL DEFAULT 'ingest' CHECK (scope IN ('ingest', 'read')),
    -- When the key last registered an agent (ingest) or read (read), to the minute: it is written
    -- at most once a minute per key, never on every scrape.
    last_used_at  BIGINT
);

-- An agent is known by (org_id, instance_id) when it sent an instanceId, else by (org_id, name,
-- hostname): see the two unique indexes below. last_push_ts is the timestamp of the push whose
-- objects the lists show, state_at when that push happened on the server's clock (its timestamp,
-- or its receive time when stamped later; see kubewatch/agent_clock.py): a push that happened
-- before it never replaces it. clock_skew is the agent's clock against the server's, in seconds
-- (negative when behind), as its latest push told it.
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
    instance_id      TEXT,
    state_at         BIGINT,
    clock_skew       BIGINT,
    -- Of the newest push's containers: how many run, how many stopped after running (see
    -- kubewatch/repository/pushes.py), the sum of their restart counts, and the newest push in
    -- which that sum rose.
    running_count    BIGINT NOT NULL DEFAULT 0,
    stopped_count    BIGINT NOT NULL DEFAULT 0,
    restart_total    BIGINT NOT NULL DEFAULT 0,
    restarted_at     BIGINT,
    -- Bumped by every transaction that writes or deletes what describes the agent's objects:
    -- a server process trusts what it remembers of them only at the version it remembered.
    descriptions_version BIGINT NOT NULL DEFAULT 0,
    -- Every hour before this one (epoch seconds, a whole hour) has its one-hour rollups merged from
    -- its minutes; the hours from it on are merged once whole (see kubewatch/rollup_hours.py) and
    -- read from the minutes until then.
    hours_through    BIGINT NOT NULL DEFAULT 0
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
    health       TEXT,
    exit_code    BIGINT,
    oom_killed   BIGINT,
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

-- Alerting (kubewatch/alerting/): where to send, what to watch, what fired, what is owed to whom.
-- url is an Apprise URL with its secrets: the API shows only its scheme and host.
CREATE TABLE IF NOT EXISTS notification_channels (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    url                TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    last_delivered_at  BIGINT,
    last_error         TEXT,
    last_error_at      BIGINT
);

CREATE TABLE IF NOT EXISTS alert_rules (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    agent_id        TEXT REFERENCES agents (id) ON DELETE CASCADE,
    match           TEXT,
    threshold       DOUBLE PRECISION,
    for_seconds     BIGINT NOT NULL,
    repeat_seconds  BIGINT,
    enabled         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_rule_channels (
    rule_id     TEXT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    channel_id  TEXT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, channel_id)
);

-- One row per alert of a rule on one object: pending while fired_at is NULL (its condition has
-- not held forSeconds yet), firing until resolved_at. notified_at is when its fire (or last
-- reminder) was queued for the channels; NULL while silenced, so it is sent once the silence ends.
CREATE TABLE IF NOT EXISTS alerts (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    rule_id      TEXT REFERENCES alert_rules (id) ON DELETE SET NULL,
    rule_name    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    agent_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    object_type  TEXT NOT NULL,
    object_name  TEXT NOT NULL,
    value        DOUBLE PRECISION,
    threshold    DOUBLE PRECISION,
    summary      TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    fired_at     BIGINT,
    resolved_at  BIGINT,
    notified_at  BIGINT
);

-- The messages owed to channels, written in the transaction that fires or resolves an alert, and
-- marked delivered once a channel took them: each is sent once (twice only after a crash in between).
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id               TEXT PRIMARY KEY,
    alert_id         TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel_id       TEXT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    notify_type      TEXT NOT NULL,
    queued_ns        BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    delivered_at     BIGINT,
    given_up_at      BIGINT,
    last_error       TEXT
);

-- What the evaluator remembers of each container name between runs: whether it was ever seen
-- running (a container first seen stopped does not fire), its id and restart count.
CREATE TABLE IF NOT EXISTS watched_containers (
    agent_id       TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    runtime_id     TEXT NOT NULL,
    running        BIGINT NOT NULL,
    seen_running   BIGINT NOT NULL,
    restart_count  BIGINT,
    restarted_at   BIGINT,
    PRIMARY KEY (agent_id, name)
);

CREATE TABLE IF NOT EXISTS silences (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    agent_id    TEXT REFERENCES agents (id) ON DELETE CASCADE,
    rule_id     TEXT REFERENCES alert_rules (id) ON DELETE CASCADE,
    until       BIGINT NOT NULL,
    comment     TEXT,
    created_at  BIGINT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (rule_id, agent_id, object_type, object_name)
    WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS alerts_org_started ON alerts (org_id, started_at);
CREATE INDEX IF NOT EXISTS alerts_resolved ON alerts (resolved_at);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
CREATE INDEX IF NOT EXISTS alert_deliveries_alert ON alert_deliveries (alert_id);
CREATE INDEX IF NOT EXISTS alert_rules_org ON alert_rules (org_id);
CREATE INDEX IF NOT EXISTS notification_channels_org ON notification_channels (org_id);

-- Bumped by every revocation of an API key: a server reads the revoked keys again when it moves,
-- so a revocation stops its agents' tokens in every server process (kubewatch/revocations.py).
CREATE TABLE IF NOT EXISTS key_revocations (
    generation  BIGINT NOT NULL
);
INSERT INTO key_revocations (generation) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM key_revocations);

-- Failed sign-ins and registrations, in fixed windows, where every server process counts them
-- (kubewatch/api/throttle.py). key is a digest of what was tried from where: no email or address is kept.
CREATE TABLE IF NOT EXISTS auth_failures (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL,
    last_attempt  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_failures_window ON auth_failures (window_start);

-- Finds the pushes not yet rolled up without reading the ones that are.
CREATE INDEX IF NOT EXISTS pushes_to_roll_up ON pushes (agent_id, ts) WHERE rolled_up = 0;
CREATE UNIQUE INDEX IF NOT EXISTS agents_by_name ON agents (org_id, name, hostname) WHERE instance_id IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS agents_by_instance ON agents (org_id, instance_id) WHERE instance_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS users_org ON users (org_id);
CREATE INDEX IF NOT EXISTS api_keys_org ON api_keys (org_id);

-- Later versions migrate a live database from the version recorded here (see kubewatch/db.py).
INSERT INTO schema_version (version) SELECT 11 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
