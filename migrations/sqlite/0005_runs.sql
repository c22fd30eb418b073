-- Runs: written before anyone is told a run was accepted, claimed by workers with a lease, and
-- each step's (redacted) request and response.

CREATE TABLE runs (
    id                TEXT PRIMARY KEY,
    workflow_id       TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    workflow_name     TEXT NOT NULL,
    workflow_version  INTEGER NOT NULL,
    definition        TEXT NOT NULL,              -- the trigger and steps as they were when queued
    trigger_type      TEXT NOT NULL,              -- manual | event | schedule | webhook
    started_by        TEXT NOT NULL,              -- an account's email, an API key's name, or the trigger
    input             TEXT NOT NULL,              -- JSON
    status            TEXT NOT NULL,              -- queued | running | succeeded | failed
    error             TEXT,
    queued_at         INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER,
    lease_owner       TEXT,                       -- the worker holding it while running
    lease_until       INTEGER,                    -- a running run past this is claimed again
    claims            INTEGER NOT NULL DEFAULT 0  -- more than 1: resumed after a worker stopped
);

CREATE INDEX runs_ready ON runs (status, queued_at);
CREATE INDEX runs_by_workflow ON runs (workflow_id, queued_at);
CREATE INDEX runs_finished ON runs (finished_at);

CREATE TABLE run_steps (
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    key          TEXT NOT NULL,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,                   -- running | succeeded | failed
    attempts     INTEGER NOT NULL,
    error        TEXT,
    request      TEXT,                            -- JSON, credentials masked
    response     TEXT,                            -- JSON, secrets redacted
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    PRIMARY KEY (run_id, position)
);
