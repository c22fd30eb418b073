//! The gate every request passes: it resolves the caller (session cookie or `x-api-key`),
//! refuses cross-origin changes, and for `/api` enforces `app::auth::policy` before any handler
//! runs. Unknown `/api` paths are refused, so a new route without a policy entry fails closed.

use std::net::SocketAddr;

use app::auth::AppError;
use app::auth::policy::{Access, JSON_SERVER_FNS, access_for, is_rest};
use app::auth::service::{ClientIp, require};
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::Caller;

use crate::access::SESSION_COOKIE;
use crate::http::AppState;

/// An error body the browser's server-function client can decode.
pub fn error_response(error: &AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(error)).into_response();
    if let AppError::Throttled { retry_after_secs } = error
        && let Ok(value) = retry_after_secs.to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The REST API's error body: `{"error": "…", "kind": "…", "fields": {"name": "…"}}`.
pub fn rest_error_response(error: &AppError) -> Response {
    let mut response = error_response(error);
    let kind = serde_json::to_value(error)
        .ok()
        .and_then(|v| v.get("kind").cloned())
        .unwrap_or_default();
    *response.body_mut() = Body::from(
        serde_json::json!({ "error": error.to_string(), "kind": kind, "fields": error.field_map() })
            .to_string(),
    );
    response
}

pub async fn gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // Static assets and probes need no caller: skip the database lookups.
    let path = request.uri().path();
    // Webhook calls carry their own credential (the token in the path, and the signature).
    if path.starts_with("/pkg/")
        || path.starts_with("/hooks/")
        || path == "/healthz"
        || path == "/readyz"
        // Answers only with its own bearer token when one is set (`SWITCHBOARD_METRICS_TOKEN`).
        || path == "/metrics"
    {
        return next.run(request).await;
    }
    let headers = request.headers();
    let forwarded = state
        .trust_forwarded_for
        .then(|| last_forwarded_for(headers))
        .flatten();
    let ip = forwarded.unwrap_or_else(|| {
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned())
    });
    let session_id = cookie(headers, SESSION_COOKIE);
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    // Browsers attach the session cookie to any request, so a change that carries it must come
    // from our own pages. Without a cookie, another site's form could still sign its visitor in
    // to an account of the site's choosing (or run first-time setup): a change that names where
    // it came from (browsers name it on every POST) must name us too. Clients that are not
    // browsers send neither header, nor a cookie, and go on. API keys are not sent by browsers on
    // their own, so they are exempt.
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let names_source =
        headers.contains_key(header::ORIGIN) || headers.contains_key(header::REFERER);
    if unsafe_method
        && api_key.is_none()
        && (session_id.is_some() || names_source)
        && !same_origin(headers, state.public_url.as_deref())
    {
        return error_response(&AppError::forbidden(
            "This request came from another site and was refused. Use Switchboard's own pages."
                .into(),
        ));
    }

    let caller = match state
        .access
        .resolve_caller(session_id.as_deref(), api_key.as_deref())
        .await
    {
        Ok(caller) => caller,
        Err(error) => {
            tracing::error!(%error, "could not resolve the caller");
            return error_response(&AppError::Internal);
        }
    };

    let path = request.uri().path().to_owned();
    let is_api = path.starts_with("/api/");
    let refuse = |error: AppError| {
        if is_rest(&path) {
            rest_error_response(&error)
        } else {
            error_response(&error)
        }
    };
    // No field takes a NUL character, and PostgreSQL cannot store one in text: refused here,
    // for every route at once, as bad input rather than failing as a 500 in storage.
    let address = request.uri().path_and_query().map_or("", |pq| pq.as_str());
    if holds_nul(address.as_bytes()) {
        return refuse(nul_refused("address"));
    }
    if is_api {
        match access_for(request.method().as_str(), &path) {
            None => {
                return refuse(AppError::not_found(format!(
                    "There is no API at {} {path}.",
                    request.method()
                )));
            }
            Some(Access::Public) => {}
            Some(Access::Signed(permission)) => {
                if let Err(error) = require(caller.as_ref(), permission) {
                    // A script whose key no longer works is told so, not asked to sign in.
                    let sent_a_key = caller.is_none() && api_key.is_some();
                    return refuse(if sent_a_key {
                        AppError::BadApiKey
                    } else {
                        error
                    });
                }
            }
        }
    }

    // Read only once the caller may call this route at all.
    if is_api && unsafe_method {
        let (parts, body) = request.into_parts();
        let bytes = match crate::api::read_body(body, MAX_API_BODY).await {
            Ok(bytes) => bytes,
            Err(response) if is_rest(&path) => return response,
            // The pages' server-function client reads only errors in its own shape.
            Err(response) => return unread_body_for_pages(response.status()),
        };
        let read_as_json = is_rest(&path) || JSON_SERVER_FNS.contains(&path.as_str());
        if body_holds_nul(&bytes, read_as_json) {
            return refuse(nul_refused("request"));
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(ClientIp(ip));
    if let Some(caller) = caller {
        request.extensions_mut().insert::<Caller>(caller);
    }
    let response = next.run(request).await;
    if is_api && !is_rest(&path) {
        status_from_error_body(response).await
    } else {
        response
    }
}

/// The largest body an `/api` change may send (axum's default limit for the REST handlers).
const MAX_API_BODY: usize = 2 * 1024 * 1024;

fn nul_refused(place: &str) -> AppError {
    AppError::Invalid {
        field: None,
        message: format!(
            "The {place} holds a NUL character (%00 or \\u0000), which no field accepts. Remove it and try again."
        ),
    }
}

/// `read_body`'s refusal, in the shape the pages' server-function client reads.
fn unread_body_for_pages(status: StatusCode) -> Response {
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "This is larger than {} KiB, the most the server takes at once: shorten it (a long \
             sample input or request body), then try again.",
            MAX_API_BODY / 1024
        )
    } else {
        "What you sent did not arrive whole (the connection broke). Try again.".to_owned()
    };
    let mut response = error_response(&AppError::Invalid {
        field: None,
        message,
    });
    *response.status_mut() = status;
    response
}

/// Whether a request body holds a NUL as its route will read it. The route's decoder, not the
/// `Content-Type` the caller chose, decides how a body is read: a REST route or a JSON server
/// function reads any body as JSON (where `%00` is only text), a form server function any body
/// as a form (where `%00` is a NUL, even inside what looks like JSON).
fn body_holds_nul(bytes: &[u8], read_as_json: bool) -> bool {
    if read_as_json {
        json_holds_nul(bytes)
    } else {
        holds_nul(bytes)
    }
}

/// Whether a URL or a form body holds a NUL: the byte, or `%00`.
fn holds_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00")
}

/// Whether a JSON text holds a NUL: the byte, or a `\u0000` escape (not an escaped backslash
/// followed by `u0000`).
fn json_holds_nul(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    bytes.windows(5).enumerate().any(|(i, w)| {
        w == b"u0000" && bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
    })
}

/// Server functions answer every error with 500; the body says which error it was, so the
/// status is set from it: bad input is a 400, not a server fault.
async fn status_from_error_body(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, 1024 * 1024).await else {
        return error_response(&AppError::Internal);
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(error.status())
    {
        parts.status = status;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The address the nearest proxy saw: the last `X-Forwarded-For` entry (earlier ones are
/// whatever the client claimed).
fn last_forwarded_for(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|s| s.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// Whether the request's `Origin` (or, lacking it, `Referer`) is this server: the `Host` it was
/// sent to, or the configured public URL.
fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(source) = source else {
        return false;
    };
    let origin_of = |url: &str| -> Option<String> {
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next()?;
        Some(format!("{scheme}://{host}").to_ascii_lowercase())
    };
    let Some(source) = origin_of(source) else {
        return false;
    };
    if public_url.and_then(origin_of).is_some_and(|o| o == source) {
        return true;
    }
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|host| {
            let host = host.to_ascii_lowercase();
            source == format!("http://{host}") || source == format!("https://{host}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn nul_characters_are_found_in_addresses_forms_and_json() {
        assert!(holds_nul(b"/api/v2/connectors/%00"));
        assert!(holds_nul(b"email=a%00b&password=x"));
        assert!(holds_nul(b"a\0b"));
        assert!(!holds_nul(b"/api/v2/workflows?search=100%25&x=%2500"));
        assert!(json_holds_nul(br#"{"name": "a\u0000"}"#));
        assert!(json_holds_nul(br#"{"name": "\\\u0000"}"#));
        assert!(!json_holds_nul(br#"{"name": "a\\u0000"}"#));
        assert!(!json_holds_nul(br#"{"name": "u0000", "n": 100}"#));
        // As the route reads the body, whatever it looks like.
        assert!(body_holds_nul(br#"{"name": "a\u0000"}"#, true));
        assert!(!body_holds_nul(br#"{"path": "/q?x=%00"}"#, true));
        let deep = format!("{}\"\\u0000\"{}", "[".repeat(200), "]".repeat(200));
        assert!(body_holds_nul(deep.as_bytes(), true));
        assert!(body_holds_nul(b"name=a%00&role=read_only", false));
        // A JSON string is a form to a form route: `actor=a%00` in it is read as a NUL.
        assert!(body_holds_nul(br#""x=&actor=a%00&y=""#, false));
        assert!(!body_holds_nul(br"name=a\u0000", false));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let h = headers(&[("cookie", "a=1; sb_session=abc; b=2")]);
        assert_eq!(cookie(&h, "sb_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "sb"), None);
    }

    #[test]
    fn the_proxy_added_address_is_used() {
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        assert_eq!(last_forwarded_for(&h).as_deref(), Some("203.0.113.7"));
        let junk = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(last_forwarded_for(&junk), None);
    }

    #[test]
    fn only_our_own_origin_passes() {
        let ok = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(same_origin(&ok, None));
        let referer = headers(&[
            ("host", "sb.local"),
            ("referer", "http://sb.local/workflows"),
        ]);
        assert!(same_origin(&referer, None));
        let evil = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example"),
        ]);
        assert!(!same_origin(&evil, None));
        let none = headers(&[("host", "127.0.0.1:3000")]);
        assert!(!same_origin(&none, None));
        let proxied = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://sb.example.com"),
        ]);
        assert!(same_origin(&proxied, Some("https://sb.example.com")));
        assert!(!same_origin(&proxied, None));
    }
}
