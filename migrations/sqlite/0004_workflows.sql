-- Workflows, every saved version of each, and which connectors each one uses.

CREATE TABLE workflows (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL,
    trigger_type  TEXT NOT NULL,                 -- manual | event | schedule | webhook (for lists and filters)
    definition    TEXT NOT NULL,                 -- JSON {"trigger": {...}, "steps": [...]} (domain::workflow)
    version       INTEGER NOT NULL,                 -- bumped by each save; a save names the version it edits
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    updated_by    TEXT NOT NULL
);

CREATE TABLE workflow_versions (
    workflow_id   TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    definition    TEXT NOT NULL,
    saved_by      TEXT NOT NULL,
    saved_at      INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

-- A connector in use cannot be deleted: the reference refuses it even if two requests race.
CREATE TABLE workflow_connectors (
    workflow_id   TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    connector_id  TEXT NOT NULL REFERENCES connectors (id),
    PRIMARY KEY (workflow_id, connector_id)
);

CREATE INDEX workflow_connectors_by_connector ON workflow_connectors (connector_id);
