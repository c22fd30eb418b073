-- Accounts, sessions and the audit log: what every later feature checks before it acts.
-- Times are Unix epoch milliseconds (BIGINT) so that both backends store, compare and sort them alike.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,          -- trimmed and lower-cased by the domain type
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('administrator_with_billing', 'administrator', 'read_only')),
    password_hash TEXT NOT NULL,                 -- Argon2id PHC string, never the password
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Only a hash of the session id is stored: a leaked database does not hand out live sessions.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,               -- the absolute limit; idle expiry is computed from last_seen_at
    revoked_at    BIGINT
);
CREATE INDEX sessions_account_id ON sessions (account_id);

CREATE TABLE audit_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at   BIGINT NOT NULL,
    actor         TEXT NOT NULL,                 -- an account's email, 'api key <prefix>', or 'system'
    action        TEXT NOT NULL,                 -- dotted, e.g. 'account.sign_in'
    target        TEXT,
    detail        TEXT NOT NULL DEFAULT '{}',    -- JSON object; never a secret
    ip            TEXT
);
CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_action ON audit_log (action);
