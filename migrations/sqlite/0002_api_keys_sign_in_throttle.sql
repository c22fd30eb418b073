-- API keys, sign-in throttling and the first-run guard.

-- Only a hash of each key is stored; the prefix identifies it in lists and on the command line.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY NOT NULL,
    prefix        TEXT NOT NULL UNIQUE,
    key_hash      TEXT NOT NULL UNIQUE,          -- SHA-256 of the whole key, hex
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('administrator_with_billing', 'administrator', 'read_only')),
    created_by    TEXT NOT NULL,                 -- who created it: an email or 'cli'
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    expires_at    INTEGER,
    revoked_at    INTEGER
);

-- Failed sign-ins, kept for the throttle window (rows older than a day are deleted as new ones come).
CREATE TABLE sign_in_failures (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL,
    ip            TEXT NOT NULL,
    occurred_at   INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, occurred_at);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (ip, occurred_at);

-- At most one row: the first-run setup inserts it in the same transaction as the first account,
-- so two racing setup forms cannot both create an administrator.
CREATE TABLE first_run (
    singleton     INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    account_id    TEXT NOT NULL,
    completed_at  INTEGER NOT NULL
);
