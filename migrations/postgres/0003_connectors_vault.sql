-- Connectors and the vault's data keys.

-- Data keys, each wrapped (encrypted) by the master key, which is never stored here.
CREATE TABLE vault_keys (
    version       BIGINT PRIMARY KEY,
    wrapped_key   TEXT NOT NULL,                 -- base64(nonce || XChaCha20-Poly1305(data key))
    created_at    BIGINT NOT NULL
);

CREATE TABLE connectors (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    name_key            TEXT NOT NULL UNIQUE,    -- trimmed, lower-cased name: names are unique without regard to case
    enabled             BOOLEAN NOT NULL,
    base_url            TEXT NOT NULL,
    auth_settings       TEXT NOT NULL,           -- JSON of the non-secret auth settings, e.g. {"type":"basic","username":"svc"}
    secret_ciphertext   TEXT,                    -- base64(nonce || ciphertext), bound to connector id and field
    secret_key_version  BIGINT REFERENCES vault_keys (version),
    headers             TEXT NOT NULL DEFAULT '[]', -- JSON [[name, value], ...]; not secrets
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    last_used_at        BIGINT
);
