//! Connectors and the vault's wrapped data keys. Secrets arrive here already encrypted.

use super::{Store, StoreError, from_row, now_ms, on_pool};

/// A connector row. `secret_ciphertext` is opaque here: only the vault can open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorRecord {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub base_url: String,
    /// JSON of `domain::connector::AuthSettings`.
    pub auth_settings: String,
    pub secret_ciphertext: Option<String>,
    pub secret_key_version: Option<i64>,
    /// JSON `[[name, value], …]`; a secret header's value is `null` (it is in `header_secrets`).
    pub headers: String,
    /// The secret headers' values, encrypted together (JSON `[[name, value], …]`).
    pub header_secrets: Option<String>,
    pub header_secrets_key_version: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
}
from_row!(ConnectorRecord {
    id,
    name,
    enabled,
    base_url,
    auth_settings,
    secret_ciphertext,
    secret_key_version,
    headers,
    header_secrets,
    header_secrets_key_version,
    created_at,
    updated_at,
    last_used_at
});

/// A connector's ciphertexts, each with the data key version it was sealed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorSecrets {
    pub id: String,
    pub secret: Option<(String, i64)>,
    pub header_secrets: Option<(String, i64)>,
}

/// A connector's ciphertexts re-sealed by a key rotation.
#[derive(Debug, Clone)]
pub struct ConnectorSwap {
    pub id: String,
    /// The ciphertexts that were opened; the swap fails if either changed meanwhile.
    pub old_secret: Option<String>,
    pub old_header_secrets: Option<String>,
    pub secret: Option<String>,
    pub header_secrets: Option<String>,
}

/// A webhook's token and signing secret re-sealed by a key rotation.
#[derive(Debug, Clone)]
pub struct WebhookSwap {
    pub workflow_id: String,
    /// The token ciphertext that was opened; the swap fails if it changed meanwhile.
    pub old_token: String,
    pub token: String,
    /// The secret ciphertext that was opened; the swap fails if it changed meanwhile.
    pub old_secret: Option<String>,
    pub secret: Option<String>,
}

/// What to write for a connector; `secret` is `None` to keep the stored ciphertext (on update)
/// and `Some(None)` to clear it.
#[derive(Debug, Clone)]
pub struct ConnectorWrite {
    pub name: String,
    pub name_key: String,
    pub enabled: bool,
    pub base_url: String,
    pub auth_settings: String,
    pub secret: Option<Option<(String, i64)>>,
    pub headers: String,
    /// The secret headers' ciphertext and key version; always written (`None` clears it).
    pub header_secrets: Option<(String, i64)>,
}

/// What [`Store::update_connector_if`] did.
#[derive(Debug)]
pub enum ConnectorUpdate {
    Saved(Box<ConnectorRecord>),
    NotFound,
    /// It was changed since it was read: nothing was written.
    Changed,
}

const COLUMNS: &str = "id, name, enabled, base_url, auth_settings, secret_ciphertext, \
     secret_key_version, headers, header_secrets, header_secrets_key_version, created_at, \
     updated_at, last_used_at";

fn name_conflict(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Conflict {
            what: "a connector with this name",
        },
        other => other.into(),
    }
}

impl Store {
    /// The newest wrapped data key: (version, wrapped key).
    pub async fn latest_vault_key(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT version, wrapped_key FROM vault_keys ORDER BY version DESC LIMIT 1"
        )
        .fetch_optional(pool)
        .await)?)
    }

    /// Every connector with a stored secret, its ciphertexts and their key versions.
    pub async fn connector_secrets(&self) -> Result<Vec<ConnectorSecrets>, StoreError> {
        type Row = (
            String,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<i64>,
        );
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, secret_ciphertext, secret_key_version, header_secrets, \
             header_secrets_key_version FROM connectors \
             WHERE secret_ciphertext IS NOT NULL OR header_secrets IS NOT NULL ORDER BY id"
        )
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(id, secret, version, headers, headers_version)| {
                let sealed = |text: Option<String>, version: Option<i64>| match (text, version) {
                    (Some(text), Some(version)) => Ok(Some((text, version))),
                    (None, _) => Ok(None),
                    (Some(_), None) => Err(StoreError::Corrupt(format!(
                        "connector {id} has a ciphertext without a key version"
                    ))),
                };
                Ok(ConnectorSecrets {
                    secret: sealed(secret, version)?,
                    header_secrets: sealed(headers, headers_version)?,
                    id: id.clone(),
                })
            })
            .collect()
    }

    /// Key rotation, in one transaction: stores the new wrapped data key, swaps each secret's
    /// ciphertext (only if it is still the one that was re-encrypted) and drops the old keys.
    /// A secret written meanwhile under an old key makes the whole rotation fail, not vanish.
    pub async fn replace_vault_key(
        &self,
        version: i64,
        wrapped: &str,
        secrets: &[ConnectorSwap],
        webhooks: &[WebhookSwap],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO vault_keys (version, wrapped_key, created_at) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(wrapped)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for swap in secrets {
                let changed = sqlx::query(
                    "UPDATE connectors SET secret_ciphertext = $3, header_secrets = $5, \
                     secret_key_version = CASE WHEN $3 IS NULL THEN NULL ELSE $6 END, \
                     header_secrets_key_version = CASE WHEN $5 IS NULL THEN NULL ELSE $6 END \
                     WHERE id = $1 \
                     AND secret_ciphertext IS NOT DISTINCT FROM $2 \
                     AND header_secrets IS NOT DISTINCT FROM $4",
                )
                .bind(&swap.id)
                .bind(&swap.old_secret)
                .bind(&swap.secret)
                .bind(&swap.old_header_secrets)
                .bind(&swap.header_secrets)
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed != 1 {
                    return Err(StoreError::Corrupt(format!(
                        "connector {} changed during the rotation; nothing was changed, run it again",
                        swap.id
                    )));
                }
            }
            for swap in webhooks {
                let changed = sqlx::query(
                    "UPDATE webhooks SET token_ciphertext = $3, secret_ciphertext = $4, \
                     key_version = $5 WHERE workflow_id = $1 AND token_ciphertext = $2 \
                     AND secret_ciphertext IS NOT DISTINCT FROM $6",
                )
                .bind(&swap.workflow_id)
                .bind(&swap.old_token)
                .bind(&swap.token)
                .bind(&swap.secret)
                .bind(version)
                .bind(&swap.old_secret)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed != 1 {
                    return Err(StoreError::Corrupt(format!(
                        "the webhook of workflow {} changed during the rotation; nothing was changed, run it again",
                        swap.workflow_id
                    )));
                }
            }
            sqlx::query("DELETE FROM vault_keys WHERE version <> $1")
                .bind(version)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.webhooks_changed();
        Ok(())
    }

    /// Stores a wrapped data key; `Ok(false)` when that version exists already (another replica
    /// set the vault up first).
    pub async fn insert_vault_key(&self, version: i64, wrapped: &str) -> Result<bool, StoreError> {
        let result = on_pool!(self, |pool| sqlx::query(
            "INSERT INTO vault_keys (version, wrapped_key, created_at) VALUES ($1, $2, $3)"
        )
        .bind(version)
        .bind(wrapped)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()));
        match result {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn insert_connector(
        &self,
        write: &ConnectorWrite,
    ) -> Result<ConnectorRecord, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        self.insert_connector_with_id(&id, write).await
    }

    /// Inserts with a chosen id (the secret's associated data names the id, so the caller
    /// encrypts before it inserts).
    pub async fn insert_connector_with_id(
        &self,
        id: &str,
        write: &ConnectorWrite,
    ) -> Result<ConnectorRecord, StoreError> {
        let now = now_ms();
        let (ciphertext, version) = write.secret.clone().flatten().unzip();
        let (header_secrets, header_version) = write.header_secrets.clone().unzip();
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO connectors (id, name, name_key, enabled, base_url, auth_settings, \
             secret_ciphertext, secret_key_version, headers, created_at, updated_at, \
             header_secrets, header_secrets_key_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12)"
        )
        .bind(id)
        .bind(&write.name)
        .bind(&write.name_key)
        .bind(write.enabled)
        .bind(&write.base_url)
        .bind(&write.auth_settings)
        .bind(&ciphertext)
        .bind(version)
        .bind(&write.headers)
        .bind(now)
        .bind(&header_secrets)
        .bind(header_version)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(name_conflict)?;
        self.connector(id)
            .await?
            .ok_or(StoreError::Corrupt(format!("connector {id} vanished")))
    }

    /// Updates a connector; `Ok(None)` when there is no such connector.
    pub async fn update_connector(
        &self,
        id: &str,
        write: &ConnectorWrite,
    ) -> Result<Option<ConnectorRecord>, StoreError> {
        Ok(match self.update_connector_if(id, write, None).await? {
            ConnectorUpdate::Saved(record) => Some(*record),
            ConnectorUpdate::NotFound | ConnectorUpdate::Changed => None,
        })
    }

    /// Updates a connector if its `updated_at` is still `read` (when given): an edit made from
    /// what was read then, not over a change made since.
    pub async fn update_connector_if(
        &self,
        id: &str,
        write: &ConnectorWrite,
        read: Option<i64>,
    ) -> Result<ConnectorUpdate, StoreError> {
        let keep_secret = write.secret.is_none();
        let (ciphertext, version) = write.secret.clone().flatten().unzip();
        let (header_secrets, header_version) = write.header_secrets.clone().unzip();
        let changed = on_pool!(self, |pool| sqlx::query(
            "UPDATE connectors SET name = $2, name_key = $3, enabled = $4, base_url = $5, \
             auth_settings = $6, headers = $7, updated_at = CASE WHEN updated_at >= $8 THEN updated_at + 1 ELSE $8 END, \
             secret_ciphertext = CASE WHEN $9 THEN secret_ciphertext ELSE $10 END, \
             secret_key_version = CASE WHEN $9 THEN secret_key_version ELSE $11 END, \
             header_secrets = $12, header_secrets_key_version = $13 \
             WHERE id = $1 AND ($14 IS NULL OR updated_at = $14)"
        )
        .bind(id)
        .bind(&write.name)
        .bind(&write.name_key)
        .bind(write.enabled)
        .bind(&write.base_url)
        .bind(&write.auth_settings)
        .bind(&write.headers)
        .bind(now_ms())
        .bind(keep_secret)
        .bind(&ciphertext)
        .bind(version)
        .bind(&header_secrets)
        .bind(header_version)
        .bind(read)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(name_conflict)?;
        Ok(match self.connector(id).await? {
            None => ConnectorUpdate::NotFound,
            Some(_) if changed == 0 => ConnectorUpdate::Changed,
            Some(record) => ConnectorUpdate::Saved(Box::new(record)),
        })
    }

    /// Replaces a connector's header rows and secret headers, if it is unchanged since it was
    /// read (`updated_at` and `headers` as then): false when it changed or went meanwhile.
    pub async fn replace_connector_headers(
        &self,
        id: &str,
        read: (i64, &str),
        headers: &str,
        header_secrets: (&str, i64),
    ) -> Result<bool, StoreError> {
        let (updated_at, old_headers) = read;
        let changed = on_pool!(self, |pool| {
            sqlx::query(
            "UPDATE connectors SET headers = $4, header_secrets = $5, \
             header_secrets_key_version = $6, updated_at = CASE WHEN updated_at >= $7 THEN updated_at + 1 ELSE $7 END \
             WHERE id = $1 AND updated_at = $2 AND headers = $3"
        )
        .bind(id)
        .bind(updated_at)
        .bind(old_headers)
        .bind(headers)
        .bind(header_secrets.0)
        .bind(header_secrets.1)
        .bind(now_ms())
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(changed == 1)
    }

    pub async fn set_connector_enabled(&self, id: &str, enabled: bool) -> Result<bool, StoreError> {
        let changed = on_pool!(self, |pool| {
            sqlx::query(
            "UPDATE connectors SET enabled = $2, updated_at = CASE WHEN updated_at >= $3 THEN updated_at + 1 ELSE $3 END WHERE id = $1"
        )
        .bind(id)
        .bind(enabled)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(changed > 0)
    }

    pub async fn connector(&self, id: &str) -> Result<Option<ConnectorRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM connectors WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Connectors by name; `search` matches any part of the name, without regard to case.
    pub async fn list_connectors(
        &self,
        search: Option<&str>,
    ) -> Result<Vec<ConnectorRecord>, StoreError> {
        let pattern = search.map(|s| {
            let escaped = s
                .trim()
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let sql = format!(
            "SELECT {COLUMNS} FROM connectors WHERE ($1 IS NULL OR name_key LIKE $1 ESCAPE '\\') ORDER BY name_key"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(&pattern)
            .fetch_all(pool)
            .await)?)
    }

    pub async fn name_taken(
        &self,
        name_key: &str,
        except_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let count: i64 = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM connectors WHERE name_key = $1 AND ($2 IS NULL OR id <> $2)"
        )
        .bind(name_key)
        .bind(except_id)
        .fetch_one(pool)
        .await)?;
        Ok(count > 0)
    }

    /// Deletes a connector; `Conflict` while a workflow still uses it (the reference refuses it).
    pub async fn delete_connector(&self, id: &str) -> Result<bool, StoreError> {
        let changed = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM connectors WHERE id = $1"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Conflict {
                what: "a workflow using this connector",
            },
            other => other.into(),
        })?;
        Ok(changed > 0)
    }
}
