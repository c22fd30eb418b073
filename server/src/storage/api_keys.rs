//! API keys: stored as a SHA-256 hash with a visible prefix.

use super::{Store, StoreError, now_ms, on_pool};
use domain::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub prefix: String,
    pub name: String,
    pub role: Role,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub prefix: String,
    pub key_hash: String,
    pub name: String,
    pub role: Role,
    pub created_by: String,
    pub expires_at: Option<i64>,
}

type KeyRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

const KEY_COLUMNS: &str =
    "id, prefix, name, role, created_by, created_at, last_used_at, expires_at, revoked_at";

fn from_row(row: KeyRow) -> Result<ApiKeyRecord, StoreError> {
    let (id, prefix, name, role, created_by, created_at, last_used_at, expires_at, revoked_at) =
        row;
    Ok(ApiKeyRecord {
        role: Role::parse(&role).map_err(|e| StoreError::Corrupt(format!("api key {id}: {e}")))?,
        id,
        prefix,
        name,
        created_by,
        created_at,
        last_used_at,
        expires_at,
        revoked_at,
    })
}

impl Store {
    pub async fn insert_api_key(&self, new: &NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_ms();
        let result = on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO api_keys (id, prefix, key_hash, name, role, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(&id)
        .bind(&new.prefix)
        .bind(&new.key_hash)
        .bind(&new.name)
        .bind(new.role.as_str())
        .bind(&new.created_by)
        .bind(now)
        .bind(new.expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict {
                    what: "an API key with this prefix",
                });
            }
            Err(e) => return Err(e.into()),
        }
        Ok(ApiKeyRecord {
            id,
            prefix: new.prefix.clone(),
            name: new.name.clone(),
            role: new.role,
            created_by: new.created_by.clone(),
            created_at: now,
            last_used_at: None,
            expires_at: new.expires_at,
            revoked_at: None,
        })
    }

    /// Every key, newest first, revoked ones included.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC");
        let rows: Vec<KeyRow> = on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
        rows.into_iter().map(from_row).collect()
    }

    /// The key with this hash if it is usable at `now`; records the use (at most once a minute).
    pub async fn use_api_key(
        &self,
        key_hash: &str,
        now: i64,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        );
        let row: Option<KeyRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(key_hash)
            .bind(now)
            .fetch_optional(pool)
            .await)?;
        let Some(record) = row.map(from_row).transpose()? else {
            return Ok(None);
        };
        if record.last_used_at.is_none_or(|at| now - at >= 60_000) {
            on_pool!(self, |pool| sqlx::query(
                "UPDATE api_keys SET last_used_at = $2 WHERE id = $1"
            )
            .bind(&record.id)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        }
        Ok(Some(record))
    }

    /// Revokes the key with this prefix; `None` if there is no such key, the record otherwise
    /// (revoking twice is harmless).
    pub async fn revoke_api_key(&self, prefix: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE api_keys SET revoked_at = $2 WHERE prefix = $1 AND revoked_at IS NULL"
        )
        .bind(prefix)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE prefix = $1");
        let row: Option<KeyRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(prefix)
            .fetch_optional(pool)
            .await)?;
        row.map(from_row).transpose()
    }
}
