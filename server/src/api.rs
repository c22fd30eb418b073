//! The REST API under `/api/v1`, for scripts holding an API key (`x-api-key`). Access rules live
//! in `app::auth::policy::REST_ACCESS` and are enforced by the gate; handlers check again.

use app::auth::service::require;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use domain::{Caller, CallerVia, Permission, csv_record};
use serde::Deserialize;
use serde_json::json;

use crate::gate::error_response;
use crate::http::AppState;
use crate::storage::AuditFilter;

/// The most rows one CSV export holds.
const CSV_EXPORT_LIMIT: u32 = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/audit-log.csv", get(audit_csv))
}

/// Who the key or session belongs to: a cheap way for a script to test its key.
async fn me(caller: Option<Extension<Caller>>) -> Response {
    let caller = caller.map(|Extension(c)| c);
    match require(caller.as_ref(), Permission::Read) {
        Ok(caller) => {
            let via = match &caller.via {
                CallerVia::Session { .. } => json!({ "type": "session" }),
                CallerVia::ApiKey { prefix } => json!({ "type": "api_key", "prefix": prefix }),
            };
            Json(json!({ "actor": caller.actor, "role": caller.role, "via": via })).into_response()
        }
        Err(error) => error_response(&error),
    }
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
}

/// The audit log as CSV, newest first, with the page's filters.
async fn audit_csv(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Query(query): Query<AuditQuery>,
) -> Response {
    let caller = caller.map(|Extension(c)| c);
    if let Err(error) = require(caller.as_ref(), Permission::Read) {
        return error_response(&error);
    }
    let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        actor: clean(query.actor),
        action: clean(query.action),
        before_id: None,
        limit: CSV_EXPORT_LIMIT,
    };
    let entries = match state.access.audit_entries(&filter).await {
        Ok(entries) => entries,
        Err(error) => return error_response(&error),
    };
    let mut csv = csv_record(&[
        "id",
        "occurred_at_utc",
        "actor",
        "action",
        "target",
        "detail",
        "ip",
    ]);
    for e in entries {
        csv.push_str(&csv_record(&[
            e.id.to_string(),
            domain::format_utc(e.occurred_at),
            e.actor,
            e.action,
            e.target.unwrap_or_default(),
            e.detail,
            e.ip.unwrap_or_default(),
        ]));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"switchboard-audit-log.csv\"",
            ),
        ],
        csv,
    )
        .into_response()
}
