//! The REST API under `/api/v1`, for scripts holding an API key (`x-api-key`). Access rules live
//! in `app::auth::policy::REST_ACCESS` and are enforced by the gate; handlers check again.

use app::auth::AppError;
use app::auth::service::{ClientIp, require};
use app::connectors::service::ConnectorService;
use app::runs::RunQuery;
use app::runs::service::RunService;
use app::workflows::service::WorkflowService;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use domain::connector::ConnectorInput;
use domain::workflow::WorkflowInput;
use domain::{Caller, CallerVia, Permission, csv_record};
use serde::Deserialize;
use serde_json::json;

use crate::gate::rest_error_response;
use crate::http::AppState;
use crate::storage::AuditFilter;

/// `axum::extract::Query` whose rejection (`?limit=abc`) is the REST error body, not axum's
/// plain text.
struct Query<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| unreadable("query string", &rejection.body_text()))
    }
}

/// `axum::extract::Path` whose rejection (`%FF`, not UTF-8) is the REST error body.
struct Path<T>(T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| unreadable("address", &rejection.body_text()))
    }
}

/// The REST error body for a part of the request the extractors could not read.
fn unreadable(part: &str, why: &str) -> Response {
    rest_error_response(&AppError::Invalid {
        field: None,
        message: format!("The {part} could not be read: {why}."),
    })
}

/// The most rows one CSV export holds; the `x-switchboard-more-before` header says where to go on.
const CSV_EXPORT_LIMIT: u32 = 10_000;
/// The rows read per query while exporting (storage lists at most this many at a time).
const CSV_EXPORT_PAGE: u32 = 1_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/audit-log.csv", get(audit_csv))
        .route(
            "/api/v2/connectors",
            get(list_connectors).post(create_connector),
        )
        .route(
            "/api/v2/connectors/{id}",
            get(get_connector)
                .put(update_connector)
                .delete(delete_connector),
        )
        .route(
            "/api/v2/workflows",
            get(list_workflows).post(create_workflow),
        )
        .route(
            "/api/v2/workflows/{id}",
            get(get_workflow)
                .put(update_workflow)
                .delete(delete_workflow),
        )
        .route("/api/v2/workflows/runs", get(list_runs))
        .route("/api/v2/workflows/runs/{id}", get(get_run))
        .route(
            "/api/v2/workflows/{id}/runs",
            axum::routing::post(start_run),
        )
        .route("/api/v2/events", axum::routing::post(receive_events))
        .route("/hooks/{token}", axum::routing::post(receive_webhook))
}

/// The caller the gate resolved and the client address, or the 401 to answer.
fn who(
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
) -> Result<(Caller, String), AppError> {
    let ip = ip.map_or_else(|| "unknown".to_owned(), |Extension(ClientIp(ip))| ip);
    match caller {
        Some(Extension(caller)) => Ok((caller, ip)),
        None => Err(AppError::Unauthenticated),
    }
}

/// Reads a connector body, answering a malformed one with a 400 that says what is wrong, without
/// the value serde quotes: a secret sent with the wrong JSON type is not echoed back.
fn connector_body(body: &[u8]) -> Result<ConnectorInput, AppError> {
    serde_json::from_slice(body).map_err(|e| {
        let e = domain::decode::without_quoted_value(&e.to_string());
        AppError::Invalid {
            field: None,
            message: format!(
                "The body is not a connector ({e}). Send JSON like {{\"name\": \"Jira\", \"base_url\": \"https://…\", \"auth\": {{\"type\": \"none\"}}}}."
            ),
        }
    })
}

fn rest<T: serde::Serialize>(status: StatusCode, result: Result<T, AppError>) -> Response {
    match result {
        Ok(value) => (status, Json(value)).into_response(),
        Err(error) => rest_error_response(&error),
    }
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    search: Option<String>,
}

async fn list_connectors(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Query(query): Query<SearchQuery>,
) -> Response {
    let (caller, _) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    rest(
        StatusCode::OK,
        state
            .connectors
            .list(&caller, query.search.as_deref())
            .await,
    )
}

async fn get_connector(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Path(id): Path<String>,
) -> Response {
    let (caller, _) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    rest(StatusCode::OK, state.connectors.get(&caller, &id).await)
}

async fn create_connector(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    body: Bytes,
) -> Response {
    let (caller, ip) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    let input = match connector_body(&body) {
        Ok(input) => input,
        Err(error) => return rest_error_response(&error),
    };
    rest(
        StatusCode::CREATED,
        state.connectors.create(&caller, input, &ip).await,
    )
}

async fn update_connector(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (caller, ip) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    let input = match connector_body(&body) {
        Ok(input) => input,
        Err(error) => return rest_error_response(&error),
    };
    let omitted = omitted_fields(&body, &["headers", "enabled"]);
    rest(
        StatusCode::OK,
        state
            .connectors
            .update_keeping_omitted(&caller, &id, input, &omitted, &ip)
            .await,
    )
}

async fn delete_connector(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Path(id): Path<String>,
) -> Response {
    let (caller, ip) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    match state.connectors.delete(&caller, &id, &ip).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => rest_error_response(&error),
    }
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
        Err(error) => rest_error_response(&error),
    }
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    /// Only entries older than this id: where the previous export stopped.
    before_id: Option<i64>,
}

/// The header naming, when an export stopped at [`CSV_EXPORT_LIMIT`] with older entries left,
/// the `before_id` that exports the next ones.
const MORE_BEFORE: &str = "x-switchboard-more-before";

/// The audit log as CSV, newest first, with the page's filters.
async fn audit_csv(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Query(query): Query<AuditQuery>,
) -> Response {
    let caller = caller.map(|Extension(c)| c);
    if let Err(error) = require(caller.as_ref(), Permission::Read) {
        return rest_error_response(&error);
    }
    let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut filter = AuditFilter {
        actor: clean(query.actor),
        action: clean(query.action),
        before_id: query.before_id,
        limit: CSV_EXPORT_PAGE,
    };
    // Page by page (storage lists at most CSV_EXPORT_PAGE at a time), up to the export's limit,
    // then one more look to tell whether older entries are left.
    let mut entries = Vec::new();
    let mut more_before = None;
    loop {
        let page = match state.access.audit_entries(&filter).await {
            Ok(page) => page,
            Err(error) => return rest_error_response(&error),
        };
        let Some(oldest) = page.last().map(|e| e.id) else {
            break;
        };
        if entries.len() as u32 >= CSV_EXPORT_LIMIT {
            more_before = filter.before_id;
            break;
        }
        let full = page.len() as u32 == filter.limit;
        entries.extend(page);
        if !full {
            break;
        }
        filter.before_id = Some(oldest);
        filter.limit = CSV_EXPORT_PAGE
            .min(CSV_EXPORT_LIMIT - entries.len() as u32)
            .max(1);
    }
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
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"switchboard-audit-log.csv\"",
            ),
        ],
        csv,
    )
        .into_response();
    if let Some(id) = more_before.and_then(|id| id.to_string().parse().ok()) {
        response.headers_mut().insert(MORE_BEFORE, id);
    }
    response
}

/// A workflow body; a PUT also carries the `version` it edits.
#[derive(Debug, Deserialize)]
struct WorkflowBody {
    version: Option<i64>,
    #[serde(flatten)]
    input: WorkflowInput,
}

fn workflow_body(body: &[u8]) -> Result<WorkflowBody, AppError> {
    // A sample input's integer beyond 64 bits would be stored rounded, and become a run's input.
    domain::decode::check_exact_integers(&String::from_utf8_lossy(body), "The workflow").map_err(
        |message| AppError::Invalid {
            field: None,
            message,
        },
    )?;
    serde_json::from_slice(body).map_err(|e| AppError::Invalid {
        field: None,
        message: format!(
            "The body is not a workflow ({}). Send JSON like {{\"name\": \"Provisioning ticket\", \"trigger\": {{\"type\": \"manual\"}}, \"steps\": []}}.",
            domain::decode::without_quoted_value(&e.to_string())
        ),
    })
}

async fn list_workflows(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Query(query): Query<SearchQuery>,
) -> Response {
    let (caller, _) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    rest(
        StatusCode::OK,
        state.workflows.list(&caller, query.search.as_deref()).await,
    )
}

async fn get_workflow(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Path(id): Path<String>,
) -> Response {
    let (caller, _) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    rest(StatusCode::OK, state.workflows.get(&caller, &id).await)
}

async fn create_workflow(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    body: Bytes,
) -> Response {
    let (caller, ip) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    let body = match workflow_body(&body) {
        Ok(body) => body,
        Err(error) => return rest_error_response(&error),
    };
    rest(
        StatusCode::CREATED,
        state.workflows.create(&caller, body.input, &ip).await,
    )
}

async fn update_workflow(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (caller, ip) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    let raw = body;
    let body = match workflow_body(&raw) {
        Ok(body) => body,
        Err(error) => return rest_error_response(&error),
    };
    let Some(version) = body.version else {
        return rest_error_response(&AppError::invalid(
            "version",
            "Send the version you edited (from the GET), so a save cannot silently overwrite someone else's.",
        ));
    };
    let mut input = body.input;
    // Fields left out keep their stored values rather than being reset (no steps, enabled). The
    // stored workflow is the one `version` names, or the save is refused as a conflict anyway.
    let omitted = omitted_fields(&raw, &["description", "enabled", "steps"]);
    if !omitted.is_empty() {
        let stored = match state.workflows.get(&caller, &id).await {
            Ok(stored) => stored,
            Err(error) => return rest_error_response(&error),
        };
        for field in omitted {
            match field {
                "description" => input.description = stored.description.clone(),
                "enabled" => input.enabled = stored.enabled,
                _ => input.steps = stored.steps.clone(),
            }
        }
    }
    rest(
        StatusCode::OK,
        state
            .workflows
            .update(&caller, &id, version, input, &ip)
            .await,
    )
}

/// Which of `fields` a JSON object body leaves out (none when it is not an object).
pub(crate) fn omitted_fields<'a>(body: &[u8], fields: &[&'a str]) -> Vec<&'a str> {
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(given)) => fields
            .iter()
            .copied()
            .filter(|field| !given.contains_key(*field))
            .collect(),
        _ => Vec::new(),
    }
}

async fn delete_workflow(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Path(id): Path<String>,
) -> Response {
    let (caller, ip) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    match state.workflows.delete(&caller, &id, &ip).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => rest_error_response(&error),
    }
}

/// `POST /api/v2/workflows/{id}/runs` with `{"input": {…}}` (optional: the sample input).
#[derive(Debug, Default, Deserialize)]
struct StartRunBody {
    input: Option<serde_json::Value>,
}

async fn start_run(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (caller, ip) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    if let Err(message) =
        domain::decode::check_exact_integers(&String::from_utf8_lossy(&body), "The input")
    {
        return rest_error_response(&AppError::invalid("input", message));
    }
    let body: StartRunBody = if body.iter().all(u8::is_ascii_whitespace) {
        StartRunBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(e) => {
                let e = domain::decode::without_quoted_value(&e.to_string());
                return rest_error_response(&AppError::Invalid {
                    field: None,
                    message: format!(
                        "The body is not a run request ({e}). Send JSON like {{\"input\": {{\"resource\": {{\"username\": \"ada\"}}}}}}."
                    ),
                });
            }
        }
    };
    match state.runs.start(&caller, &id, body.input, &ip).await {
        Ok(run) => (
            StatusCode::ACCEPTED,
            Json(json!({ "id": run.id, "status": run.status })),
        )
            .into_response(),
        Err(error) => rest_error_response(&error),
    }
}

async fn list_runs(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Query(query): Query<RunQuery>,
) -> Response {
    let (caller, _) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    rest(StatusCode::OK, state.runs.list(&caller, &query).await)
}

async fn get_run(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    Path(id): Path<String>,
) -> Response {
    let (caller, _) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    rest(StatusCode::OK, state.runs.get(&caller, &id).await)
}

/// The largest `POST /api/v2/events` body.
const MAX_EVENTS_BODY: usize = 1024 * 1024;

/// Reads a body up to `limit` bytes; a larger one is a 413 with a message that says the limit.
pub(crate) async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, Response> {
    // The REST error body: the message, its kind, and no field.
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({
                "error": format!("The body is larger than {} KiB; send a smaller one.", limit / 1024),
                "kind": "too_large",
                "fields": {},
            })),
        )
            .into_response()
    };
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(e) = source {
            if e.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            source = e.source();
        }
        (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": "The body could not be read (the connection broke or it was not sent whole). Send it again.",
                "kind": "invalid",
                "fields": {},
            })),
        )
            .into_response()
    })
}

/// `POST /hooks/{token}`: a webhook call. No session or API key: the unguessable token (and,
/// when set, the signature) is the credential. Every refusal is counted in /metrics.
async fn receive_webhook(
    state: State<AppState>,
    token: Path<String>,
    request: axum::extract::Request,
) -> Response {
    let response = webhook_call(state, token, request).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        crate::metrics::webhook_rejected(response.status());
    }
    response
}

async fn webhook_call(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if parts
        .headers
        .get("idempotency-key")
        .is_some_and(|v| v.to_str().is_err())
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "The Idempotency-Key header must be plain text (visible ASCII)." })),
        )
            .into_response();
    }
    let found = match state.triggers.find_webhook(&token).await {
        Ok(found) => found,
        Err(refusal) => return hook_refused(refusal),
    };
    let limit = state.triggers.config.webhook_max_body;
    let body = match read_body(body, limit).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let headers = parts
        .headers
        .iter()
        // A value may be UTF-8 (a name with accents) though HTTP only promises ASCII: kept as
        // text, any byte that is not UTF-8 as U+FFFD, rather than dropping the header.
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let call = crate::triggers::HookCall {
        token: &token,
        headers,
        query: parts.uri.query(),
        body: &body,
    };
    match state.triggers.receive_webhook(&found, call).await {
        Ok(accepted) => {
            let mut response = (
                StatusCode::ACCEPTED,
                Json(json!({ "id": accepted.run_id, "status": "queued", "replayed": accepted.replayed })),
            )
                .into_response();
            if accepted.replayed {
                response.headers_mut().insert(
                    "idempotent-replayed",
                    axum::http::HeaderValue::from_static("true"),
                );
            }
            response
        }
        Err(refusal) => hook_refused(refusal),
    }
}

fn hook_refused(refusal: crate::triggers::HookRefusal) -> Response {
    (
        StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(json!({ "error": refusal.message })),
    )
        .into_response()
}

/// `POST /api/v2/events`: one directory event or an array of them →
/// `{"events": [{"id", "type", "duplicate", "runs": [{"workflow_id", "run_id"}]}]}`.
async fn receive_events(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ip: Option<Extension<ClientIp>>,
    request: axum::extract::Request,
) -> Response {
    let (caller, ip) = match who(caller, ip) {
        Ok(who) => who,
        Err(error) => return rest_error_response(&error),
    };
    let body = match read_body(request.into_body(), MAX_EVENTS_BODY).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if let Err(message) =
        domain::decode::check_exact_integers(&String::from_utf8_lossy(&body), "The body")
    {
        return rest_error_response(&AppError::invalid("events", message));
    }
    let body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => {
            return rest_error_response(&AppError::Invalid {
                field: None,
                message: format!(
                    "The body is not JSON ({e}). Send an event like {{\"type\": \"user.activated\", \"id\": \"…\", \"resource\": {{…}}}}, or an array of them."
                ),
            });
        }
    };
    match state.triggers.receive_events(&caller, body, &ip).await {
        Ok(events) => (StatusCode::OK, Json(json!({ "events": events }))).into_response(),
        Err(error) => rest_error_response(&error),
    }
}
