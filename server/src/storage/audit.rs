//! The audit log: append-only, newest first.

use super::{Store, StoreError, from_row, now_ms, on_pool};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    /// A JSON object. Callers put no secret here.
    pub detail: String,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewAuditEntry {
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub ip: Option<String>,
}

/// Which entries to list. Filters match exactly; `before_id` pages backwards.
#[derive(Debug, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

impl Default for AuditFilter {
    fn default() -> Self {
        AuditFilter {
            actor: None,
            action: None,
            before_id: None,
            limit: 100,
        }
    }
}

struct AuditRow {
    id: i64,
    occurred_at: i64,
    actor: String,
    action: String,
    target: Option<String>,
    detail: String,
    ip: Option<String>,
}
from_row!(AuditRow {
    id,
    occurred_at,
    actor,
    action,
    target,
    detail,
    ip
});

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            occurred_at: r.occurred_at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: r.detail,
            ip: r.ip,
        }
    }
}

impl NewAuditEntry {
    /// What `caller` did (from `ip`) to `target`.
    pub fn by(
        caller: &domain::Caller,
        action: &str,
        target: &str,
        detail: serde_json::Value,
        ip: &str,
    ) -> NewAuditEntry {
        NewAuditEntry {
            actor: caller.actor.clone(),
            action: action.into(),
            target: Some(target.into()),
            detail: Some(detail),
            ip: Some(ip.into()),
        }
    }
}

/// An entry's detail as stored: JSON text, `{}` when it has none.
pub(super) fn detail_text(entry: &NewAuditEntry) -> String {
    entry
        .detail
        .as_ref()
        .map_or_else(|| "{}".to_owned(), serde_json::Value::to_string)
}

impl Store {
    /// Records what `caller` did (from `ip`) to `target`.
    pub async fn audit_by(
        &self,
        caller: &domain::Caller,
        action: &str,
        target: &str,
        detail: serde_json::Value,
        ip: &str,
    ) -> Result<(), StoreError> {
        self.append_audit(&NewAuditEntry::by(caller, action, target, detail, ip))
            .await
            .map(|_| ())
    }

    /// Appends one entry and returns its id.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        let detail = detail_text(entry);
        let id = on_pool!(self, |pool| sqlx::query_scalar(
            "INSERT INTO audit_log (occurred_at, actor, action, target, detail, ip) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(now_ms())
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(detail)
        .bind(&entry.ip)
        .fetch_one(pool)
        .await)?;
        Ok(id)
    }

    /// Entries matching `filter`, newest first (ids grow with time on both backends).
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<AuditRow> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, occurred_at, actor, action, target, detail, ip FROM audit_log \
             WHERE ($1 IS NULL OR actor = $1) \
               AND ($2 IS NULL OR action = $2) \
               AND ($3 IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4"
        )
        .bind(&filter.actor)
        .bind(&filter.action)
        .bind(filter.before_id)
        .bind(i64::from(filter.limit.min(1000)))
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}
