-- Triggers that start runs by themselves: each webhook workflow's URL token and signing secret,
-- the Idempotency-Key of webhook calls, the ids of directory events received, and the schedule
-- ticks claimed. Each claim row is inserted in the same transaction as the runs it starts, and
-- its primary key lets exactly one server win a race.

CREATE TABLE webhooks (
    workflow_id        TEXT PRIMARY KEY REFERENCES workflows (id) ON DELETE CASCADE,
    token_hash         TEXT NOT NULL UNIQUE,     -- SHA-256 (hex) of the URL token: how a call finds its workflow
    token_ciphertext   TEXT NOT NULL,            -- the token itself, sealed by the vault, for the trigger pane
    secret_ciphertext  TEXT,                     -- the signing secret, sealed by the vault; NULL: unsigned
    key_version        INTEGER NOT NULL,         -- the vault data key both are sealed under
    created_at         INTEGER NOT NULL,
    rotated_at         INTEGER NOT NULL
);

CREATE TABLE webhook_calls (
    workflow_id      TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    idempotency_key  TEXT NOT NULL,
    body_hash        TEXT NOT NULL,               -- SHA-256 (hex) of the raw body
    run_id           TEXT NOT NULL,
    received_at      INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, idempotency_key)
);

CREATE INDEX webhook_calls_received ON webhook_calls (received_at);

CREATE TABLE events_received (
    event_id     TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    runs         TEXT NOT NULL,                   -- JSON [{"workflow_id", "run_id"}] started for it
    received_at  INTEGER NOT NULL
);

CREATE INDEX events_received_at ON events_received (received_at);

CREATE TABLE schedule_ticks (
    workflow_id  TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    tick_at      INTEGER NOT NULL,                -- the time the cron expression named (epoch ms)
    run_id       TEXT,                            -- NULL: missed while every server was down, skipped
    claimed_at   INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, tick_at)
);
