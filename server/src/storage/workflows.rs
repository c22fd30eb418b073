//! Workflows, their saved versions, and the connectors each one uses.

use super::{Store, StoreError, from_row, now_ms, on_pool};

/// A workflow row; `definition` is the JSON of its trigger and steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRecord {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub trigger_type: String,
    pub definition: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
}
from_row!(WorkflowRecord {
    id,
    name,
    description,
    enabled,
    trigger_type,
    definition,
    version,
    created_at,
    updated_at,
    updated_by
});

/// One saved version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowVersionRecord {
    pub version: i64,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub definition: String,
    pub saved_by: String,
    pub saved_at: i64,
}
from_row!(WorkflowVersionRecord {
    version,
    name,
    description,
    enabled,
    definition,
    saved_by,
    saved_at
});

/// What a save writes.
#[derive(Debug, Clone)]
pub struct WorkflowWrite {
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub trigger_type: String,
    pub definition: String,
    pub connector_ids: Vec<String>,
    pub actor: String,
}

/// How an update went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowUpdate {
    Saved(WorkflowRecord),
    NotFound,
    /// Someone saved first: the version now stored.
    Conflict {
        current: i64,
        by: String,
    },
}

const COLUMNS: &str = "id, name, description, enabled, trigger_type, definition, version, \
     created_at, updated_at, updated_by";

fn missing_connector(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(e) if e.is_foreign_key_violation() => StoreError::Conflict {
            what: "a reference to a connector that was deleted",
        },
        other => other.into(),
    }
}

impl Store {
    pub async fn insert_workflow(
        &self,
        id: &str,
        write: &WorkflowWrite,
    ) -> Result<WorkflowRecord, StoreError> {
        let now = now_ms();
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO workflows (id, name, description, enabled, trigger_type, definition, \
                 version, created_at, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8)",
            )
            .bind(id)
            .bind(&write.name)
            .bind(&write.description)
            .bind(write.enabled)
            .bind(&write.trigger_type)
            .bind(&write.definition)
            .bind(now)
            .bind(&write.actor)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO workflow_versions (workflow_id, version, name, description, enabled, \
                 definition, saved_by, saved_at) VALUES ($1, 1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(&write.name)
            .bind(&write.description)
            .bind(write.enabled)
            .bind(&write.definition)
            .bind(&write.actor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for connector in &write.connector_ids {
                sqlx::query(
                    "INSERT INTO workflow_connectors (workflow_id, connector_id) VALUES ($1, $2)",
                )
                .bind(id)
                .bind(connector)
                .execute(&mut *tx)
                .await
                .map_err(missing_connector)?;
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.workflow(id)
            .await?
            .ok_or(StoreError::Corrupt(format!("workflow {id} vanished")))
    }

    /// Saves a new version if the stored one is still `expected_version`.
    pub async fn update_workflow(
        &self,
        id: &str,
        expected_version: i64,
        write: &WorkflowWrite,
    ) -> Result<WorkflowUpdate, StoreError> {
        let now = now_ms();
        let saved = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE workflows SET name = $3, description = $4, enabled = $5, trigger_type = $6, \
                 definition = $7, version = version + 1, updated_at = $8, updated_by = $9 \
                 WHERE id = $1 AND version = $2",
            )
            .bind(id)
            .bind(expected_version)
            .bind(&write.name)
            .bind(&write.description)
            .bind(write.enabled)
            .bind(&write.trigger_type)
            .bind(&write.definition)
            .bind(now)
            .bind(&write.actor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                sqlx::query(
                    "INSERT INTO workflow_versions (workflow_id, version, name, description, enabled, \
                     definition, saved_by, saved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(expected_version + 1)
                .bind(&write.name)
                .bind(&write.description)
                .bind(write.enabled)
                .bind(&write.definition)
                .bind(&write.actor)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM workflow_connectors WHERE workflow_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                for connector in &write.connector_ids {
                    sqlx::query(
                        "INSERT INTO workflow_connectors (workflow_id, connector_id) VALUES ($1, $2)",
                    )
                    .bind(id)
                    .bind(connector)
                    .execute(&mut *tx)
                    .await
                    .map_err(missing_connector)?;
                }
                tx.commit().await?;
            }
            Ok::<bool, StoreError>(changed == 1)
        })?;
        self.webhooks_changed();
        let Some(record) = self.workflow(id).await? else {
            return Ok(WorkflowUpdate::NotFound);
        };
        Ok(if saved {
            WorkflowUpdate::Saved(record)
        } else {
            WorkflowUpdate::Conflict {
                current: record.version,
                by: record.updated_by,
            }
        })
    }

    pub async fn workflow(&self, id: &str) -> Result<Option<WorkflowRecord>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Workflows by name, optionally those whose name contains `search` (any case).
    pub async fn list_workflows(
        &self,
        search: Option<&str>,
    ) -> Result<Vec<WorkflowRecord>, StoreError> {
        let pattern = search.map(|s| {
            let escaped = s
                .trim()
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        Ok(on_pool!(self, |pool| sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE ($1 IS NULL OR LOWER(name) LIKE $1 ESCAPE '\\') \
             ORDER BY LOWER(name), id"
        ))
        .bind(&pattern)
        .fetch_all(pool)
        .await)?)
    }

    pub async fn delete_workflow(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM workflows WHERE id = $1"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()));
        self.webhooks_changed();
        Ok(deleted? > 0)
    }

    /// Every saved version of a workflow, newest first.
    pub async fn workflow_versions(
        &self,
        id: &str,
    ) -> Result<Vec<WorkflowVersionRecord>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT version, name, description, enabled, definition, saved_by, saved_at \
             FROM workflow_versions WHERE workflow_id = $1 ORDER BY version DESC"
        )
        .bind(id)
        .fetch_all(pool)
        .await)?)
    }

    pub async fn workflow_version(
        &self,
        id: &str,
        version: i64,
    ) -> Result<Option<WorkflowVersionRecord>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT version, name, description, enabled, definition, saved_by, saved_at \
             FROM workflow_versions WHERE workflow_id = $1 AND version = $2"
        )
        .bind(id)
        .bind(version)
        .fetch_optional(pool)
        .await)?)
    }

    /// The workflows that use a connector: (id, name), by name.
    pub async fn workflows_using(
        &self,
        connector_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT w.id, w.name FROM workflow_connectors c JOIN workflows w ON w.id = c.workflow_id \
             WHERE c.connector_id = $1 ORDER BY LOWER(w.name), w.id"
        )
        .bind(connector_id)
        .fetch_all(pool)
        .await
        })?)
    }

    /// How many workflows use each connector that is used at all.
    pub async fn connector_usage(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT connector_id, COUNT(*) FROM workflow_connectors GROUP BY connector_id"
        )
        .fetch_all(pool)
        .await)?)
    }
}
