//! Request planning: a connector, a step and a run's data become the request to send. Pure, so
//! the canvas preview, *Test this step* and a run all plan with the same code. Secrets are not
//! here: the plan says where the credentials go and the server's sender adds them.

use serde::{Deserialize, Serialize};

use crate::connector::AuthSettings;
use crate::render::{RenderError, RunContext, render_body, render_header, render_path};
use crate::workflow::{Action, HttpMethod, check_step_path};

/// How a secret is shown anywhere people can see it.
pub const MASK: &str = "••••••";

/// What planning needs of a connector; no secret.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorPlan<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub base_url: &'a str,
    pub headers: &'a [(String, String)],
    /// The names of its secret headers (their values are added by the sender).
    pub secret_headers: &'a [String],
    pub auth: &'a AuthSettings,
}

/// A request ready to send, except for the credentials (`auth` says where they go).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRequest {
    pub method: HttpMethod,
    /// The base URL and the rendered path; never holds a credential.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub auth: AuthSettings,
    /// The connector's secret headers, by name: the sender adds their values.
    pub secret_headers: Vec<String>,
}

/// A request as people see it (run history, *Test this step*, the preview): credentials masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownRequest {
    pub method: String,
    pub url: String,
    #[serde(with = "header_map")]
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// A response as people see it: secrets redacted, the body cut at the cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownResponse {
    pub status: u16,
    #[serde(with = "header_map")]
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub truncated: bool,
}

/// Headers travel as a JSON object (`{"Content-Type": "application/json"}`); repeated names are
/// joined with ", " as HTTP allows.
mod header_map {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        headers: &[(String, String)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = serde_json::Map::new();
        for (name, value) in headers {
            match map.get_mut(name) {
                Some(serde_json::Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(value);
                }
                _ => {
                    map.insert(name.clone(), serde_json::Value::String(value.clone()));
                }
            }
        }
        map.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        let map = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        Ok(map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect())
    }
}

/// What replaces a secret found in a response.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces every occurrence of each secret form in `text` (longest first, so a secret inside a
/// longer form does not leave the rest behind).
pub fn redact(text: &str, forms: &[&str]) -> String {
    let mut forms: Vec<&str> = forms.iter().copied().filter(|f| !f.is_empty()).collect();
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    let mut out = text.to_owned();
    for form in forms {
        if out.contains(form) {
            out = out.replace(form, REDACTED);
        }
    }
    out
}

/// `text` cut to at most `max` bytes, then redacted: what a run stores of a response body read
/// past the cap. The cut is chosen on the text as received, never on the redacted text: redacting
/// first shrinks each secret longer than the marker and pulls text from beyond the cap under it,
/// where a copy of a secret read only in part (so not matched) would then be kept in part. The cut
/// moves back to the start of any whole secret it would split, and, when the text is cut (here or
/// by the reader, `cut_short`), off any ending that is the start of a secret. Returns the body and
/// whether it was cut. Redacting can lengthen the kept text; it is cut to `max` again after.
pub fn redact_cut(text: &str, forms: &[&str], max: usize, cut_short: bool) -> (String, bool) {
    let forms: Vec<&str> = forms.iter().copied().filter(|f| !f.is_empty()).collect();
    let cut_short = cut_short || text.len() > max;
    let mut cut = floor_char_boundary(text, max.min(text.len()));
    if cut_short {
        loop {
            let before = cut;
            for form in &forms {
                // A whole copy across the cut: keep none of it.
                let from = floor_char_boundary(text, cut.saturating_sub(form.len() - 1));
                if let Some(start) = (from..cut)
                    .filter(|&i| text.is_char_boundary(i) && i + form.len() > cut)
                    .find(|&i| text[i..].starts_with(form))
                {
                    cut = start;
                }
                // The kept text ending in the start of a copy (read only in part, or split above).
                if let Some(k) = (1..form.len().min(cut + 1))
                    .rev()
                    .filter(|&k| form.is_char_boundary(k))
                    .find(|&k| text[..cut].ends_with(&form[..k]))
                {
                    cut -= k;
                }
            }
            if cut == before {
                break;
            }
        }
    }
    let mut body = redact(&text[..cut], &forms);
    let cut_short = cut_short || body.len() > max;
    body.truncate(floor_char_boundary(&body, max));
    (body, cut_short)
}

/// The largest character boundary of `text` at or below `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A `Set-Cookie` value as a run records it: the cookie's name and attributes kept, its value
/// masked. A cookie an upstream sets is a session on the connector's account there, as good as
/// the connector's own secret to whoever holds it, and Read-only users read run history. (Steps
/// cannot send it back anyway: `Cookie` is refused as a step header.) A cookie without `=` is
/// all value (RFC 6265bis), so all of it is masked.
pub fn mask_set_cookie(value: &str) -> String {
    let (pair, attributes) = value.split_at(value.find(';').unwrap_or(value.len()));
    match pair.split_once('=') {
        Some((name, _)) => format!("{name}={REDACTED}{attributes}"),
        None => format!("{REDACTED}{attributes}"),
    }
}

/// Plans `action` for `connector` with `cx`. Fails (with the message the run shows) when the
/// connector is disabled, a template cannot be rendered, or the URL would leave the connector's
/// origin.
pub fn plan(
    connector: &ConnectorPlan<'_>,
    action: &Action,
    cx: &RunContext,
) -> Result<PlannedRequest, RenderError> {
    let Action::ExternalAppConnector {
        method,
        path,
        body,
        headers,
        ..
    } = action;
    if !connector.enabled {
        return Err(RenderError(format!(
            "connector “{}” is disabled; enable it in Settings › Connectors.",
            connector.name
        )));
    }
    check_step_path(path, Some(connector.base_url))
        .map_err(|e| RenderError(format!("Endpoint Path: {}", e.message)))?;
    let rendered_path = render_path(path.trim(), cx)?;
    let url = join_url(connector.base_url, &rendered_path);
    check_same_origin(connector.base_url, &url)?;

    let auth_header = auth_header_name(connector.auth);
    // The authentication's header and the secret headers are the connector's: a step's header
    // never replaces them.
    let is_connectors_own = |name: &str| {
        auth_header.is_some_and(|h| h.eq_ignore_ascii_case(name))
            || connector
                .secret_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
    };
    let mut out: Vec<(String, String)> = connector
        .headers
        .iter()
        .filter(|(name, _)| !is_connectors_own(name))
        .cloned()
        .collect();
    for row in headers {
        let name = row.key.trim();
        if name.is_empty() && row.value.trim().is_empty() {
            continue;
        }
        // Never replaces the authentication header or a secret header (a save refuses it; an
        // unsaved step's is dropped).
        if is_connectors_own(name) {
            continue;
        }
        // The same rules as a save: *Test this step* plans steps that were never saved.
        crate::connector::check_header_name(name)
            .and_then(|_| crate::connector::check_header_allowed(name))
            .map_err(|e| RenderError(format!("Header {name}: {e}")))?;
        let value = render_header(name, row.value.trim(), cx)?;
        // A step's header overrides the connector's header of the same name.
        out.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
        out.push((name.to_owned(), value));
    }
    let body = render_body(body, cx)?;
    if body.is_some()
        && !out
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        out.push(("Content-Type".into(), "application/json".into()));
    }
    Ok(PlannedRequest {
        method: *method,
        url,
        headers: out,
        body,
        auth: connector.auth.clone(),
        secret_headers: connector.secret_headers.to_vec(),
    })
}

/// The base URL, then the path under it: `…/v1` + `/users` → `…/v1/users`.
pub fn join_url(base_url: &str, path: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let rest = path.trim_start_matches('/');
    if rest.is_empty() {
        base.to_owned()
    } else if rest.starts_with('?') {
        format!("{base}{rest}")
    } else {
        format!("{base}/{rest}")
    }
}

/// A connector's credentials only ever go to its own origin, under its base path.
pub fn check_same_origin(base_url: &str, url: &str) -> Result<(), RenderError> {
    let leaves = || {
        RenderError(format!(
            "The request URL would leave the connector's base URL {base_url}; credentials are only sent there."
        ))
    };
    let base = url::Url::parse(base_url).map_err(|_| leaves())?;
    let target = url::Url::parse(url).map_err(|_| leaves())?;
    let same_origin = base.scheme() == target.scheme()
        && base.host_str() == target.host_str()
        && base.port_or_known_default() == target.port_or_known_default()
        && target.username().is_empty()
        && target.password().is_none();
    let base_path = base.path().trim_end_matches('/');
    let under_base = target.path() == base_path
        || target.path() == "/" && base_path.is_empty()
        || target
            .path()
            .strip_prefix(base_path)
            .is_some_and(|rest| rest.starts_with('/'));
    if same_origin && under_base {
        Ok(())
    } else {
        Err(leaves())
    }
}

/// `url` without its query parameters called `name`. A redirect that echoes the connector's
/// query key back in its `Location` must not carry it on: the key is added again to the next
/// request only when that stays on the connector's origin.
pub fn without_query_param(url: &str, name: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    if !parsed.query_pairs().any(|(k, _)| k == name) {
        return url.to_owned();
    }
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    parsed.to_string()
}

/// The header an authentication sets, which no other header may replace.
pub fn auth_header_name(auth: &AuthSettings) -> Option<&str> {
    match auth {
        AuthSettings::Basic { .. } | AuthSettings::Bearer => Some("Authorization"),
        AuthSettings::Header { header_name } => Some(header_name),
        AuthSettings::None | AuthSettings::Query { .. } => None,
    }
}

impl PlannedRequest {
    /// The request as people may see it: the credentials' places shown, their values masked.
    pub fn shown(&self) -> ShownRequest {
        let mut url = self.url.clone();
        let mut headers = self.headers.clone();
        headers.extend(
            self.secret_headers
                .iter()
                .map(|h| (h.clone(), MASK.to_owned())),
        );
        match &self.auth {
            AuthSettings::None => {}
            AuthSettings::Basic { .. } => {
                headers.push(("Authorization".into(), format!("Basic {MASK}")))
            }
            AuthSettings::Bearer => {
                headers.push(("Authorization".into(), format!("Bearer {MASK}")))
            }
            AuthSettings::Header { header_name } => {
                headers.push((header_name.clone(), MASK.into()))
            }
            AuthSettings::Query { param_name } => {
                url.push(if url.contains('?') { '&' } else { '?' });
                crate::render::percent_encode(param_name, &mut url);
                url.push('=');
                url.push_str(MASK);
            }
        }
        ShownRequest {
            method: self.method.as_str().to_owned(),
            url,
            headers,
            body: self.body.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::HeaderInput;
    use serde_json::json;

    fn action(method: HttpMethod, path: &str, body: &str, headers: &[(&str, &str)]) -> Action {
        Action::ExternalAppConnector {
            connector_id: "c1".into(),
            method,
            path: path.into(),
            body: body.into(),
            headers: headers
                .iter()
                .map(|(k, v)| HeaderInput {
                    key: (*k).into(),
                    value: (*v).into(),
                })
                .collect(),
            options: Default::default(),
        }
    }

    fn connector<'a>(
        base_url: &'a str,
        headers: &'a [(String, String)],
        auth: &'a AuthSettings,
    ) -> ConnectorPlan<'a> {
        ConnectorPlan {
            name: "Jira",
            enabled: true,
            base_url,
            headers,
            secret_headers: &[],
            auth,
        }
    }

    fn input() -> RunContext {
        RunContext::new(json!({ "resource": { "username": "ada", "id": "u/1" } }))
    }

    #[test]
    fn the_base_path_is_kept_and_headers_merge_in_order() {
        let headers = vec![
            ("X-Org".to_owned(), "acme".to_owned()),
            ("Accept".to_owned(), "text/plain".to_owned()),
        ];
        let auth = AuthSettings::Bearer;
        let planned = plan(
            &connector("https://api.example.com/v1", &headers, &auth),
            &action(
                HttpMethod::Post,
                "/users/${input.resource.id}",
                r#"{"name": "${input.resource.username}"}"#,
                &[
                    ("accept", "application/json"),
                    ("X-User", "${input.resource.username}"),
                ],
            ),
            &input(),
        )
        .unwrap();
        assert_eq!(planned.url, "https://api.example.com/v1/users/u%2F1");
        assert_eq!(
            planned.headers,
            [
                ("X-Org".to_owned(), "acme".to_owned()),
                ("accept".to_owned(), "application/json".to_owned()),
                ("X-User".to_owned(), "ada".to_owned()),
                ("Content-Type".to_owned(), "application/json".to_owned()),
            ]
        );
        assert_eq!(planned.body.as_deref(), Some(r#"{"name":"ada"}"#));
        let shown = planned.shown();
        assert_eq!(shown.method, "POST");
        assert_eq!(
            shown.headers.last().unwrap(),
            &("Authorization".to_owned(), format!("Bearer {MASK}"))
        );
    }

    #[test]
    fn secret_headers_are_shown_masked_and_no_step_header_replaces_them() {
        let names = ["X-App-Key".to_owned()];
        let plan_with = ConnectorPlan {
            secret_headers: &names,
            ..connector("https://api.example.com", &[], &AuthSettings::None)
        };
        let planned = plan(
            &plan_with,
            &action(
                HttpMethod::Get,
                "/me",
                "",
                &[
                    ("x-app-key", "${input.resource.username}"),
                    ("X-Other", "1"),
                ],
            ),
            &input(),
        )
        .unwrap();
        assert_eq!(
            planned.headers,
            [("X-Other".to_owned(), "1".to_owned())],
            "the step's X-App-Key is dropped"
        );
        assert_eq!(planned.secret_headers, names);
        assert_eq!(
            planned.shown().headers,
            [
                ("X-Other".to_owned(), "1".to_owned()),
                ("X-App-Key".to_owned(), MASK.to_owned()),
            ]
        );
    }

    #[test]
    fn a_query_key_is_shown_masked_after_the_path_query() {
        let auth = AuthSettings::Query {
            param_name: "apiKey".into(),
        };
        let planned = plan(
            &connector("https://api.example.com", &[], &auth),
            &action(
                HttpMethod::Get,
                "/search?q=${input.resource.username}",
                "",
                &[],
            ),
            &input(),
        )
        .unwrap();
        assert_eq!(planned.url, "https://api.example.com/search?q=ada");
        assert_eq!(planned.body, None);
        assert!(planned.headers.is_empty(), "no body, no content type");
        assert_eq!(
            planned.shown().url,
            format!("https://api.example.com/search?q=ada&apiKey={MASK}")
        );
    }

    #[test]
    fn the_auth_header_cannot_be_replaced_by_other_headers() {
        let headers = vec![("X-Api-Key".to_owned(), "from-connector".to_owned())];
        let auth = AuthSettings::Header {
            header_name: "x-api-key".into(),
        };
        let planned = plan(
            &connector("https://api.example.com", &headers, &auth),
            &action(HttpMethod::Get, "/", "", &[("X-API-KEY", "from-step")]),
            &input(),
        )
        .unwrap();
        assert!(planned.headers.is_empty(), "{:?}", planned.headers);
        assert_eq!(
            planned.shown().headers,
            [("x-api-key".to_owned(), MASK.to_owned())]
        );
    }

    #[test]
    fn framing_and_host_headers_are_refused_even_unsaved() {
        let auth = AuthSettings::Bearer;
        for name in [
            "Host",
            "content-length",
            "Transfer-Encoding",
            "Connection",
            "Bad Name",
        ] {
            let e = plan(
                &connector("https://api.example.com", &[], &auth),
                &action(HttpMethod::Get, "/", "", &[(name, "x")]),
                &input(),
            )
            .unwrap_err();
            assert!(e.0.starts_with(&format!("Header {name}:")), "{e}");
        }
    }

    #[test]
    fn disabled_connectors_and_bad_templates_fail_the_step() {
        let auth = AuthSettings::None;
        let mut c = connector("https://api.example.com", &[], &auth);
        c.enabled = false;
        let e = plan(&c, &action(HttpMethod::Get, "/", "", &[]), &input()).unwrap_err();
        assert_eq!(
            e.0,
            "connector “Jira” is disabled; enable it in Settings › Connectors."
        );
        c.enabled = true;
        let e = plan(
            &c,
            &action(HttpMethod::Get, "https://evil.example/x", "", &[]),
            &input(),
        )
        .unwrap_err();
        assert!(e.0.contains("Enter only the path"), "{e}");
        let e = plan(
            &c,
            &action(HttpMethod::Get, "/u/${input.resource.missing}", "", &[]),
            &input(),
        )
        .unwrap_err();
        assert!(e.0.contains("not in the trigger input"), "{e}");
    }

    #[test]
    fn a_body_cut_at_the_cap_keeps_no_part_of_a_secret() {
        // 40 characters: redacting a copy shrinks the text by 30. Cut after redacting, the copy
        // the reader took only the start of (at 120..140, read up to cap + 40) would slide under
        // the cap with its first 10 characters.
        let secret = "k3y-0123456789abcdefghijklmnopqrstuvwxyz";
        assert_eq!(secret.len(), 40);
        let body = format!(
            "{}{secret}{}{}",
            "a".repeat(30),
            "b".repeat(50),
            &secret[..20]
        );
        let (shown, cut) = redact_cut(&body, &[secret], 100, true);
        assert!(cut);
        assert_eq!(
            shown,
            format!("{}{REDACTED}{}", "a".repeat(30), "b".repeat(30))
        );
        for window in secret.as_bytes().windows(4) {
            let part = std::str::from_utf8(window).unwrap();
            assert!(!shown.contains(part), "{part} in {shown}");
        }
        // A copy across the cap is dropped whole, even when that goes back over another one
        // that overlaps it.
        let body = format!("{}{secret}{secret} tail", "a".repeat(80));
        let (shown, _) = redact_cut(&body, &[secret], 100, false);
        assert_eq!(shown, "a".repeat(80));
        // The reader stopped inside a copy: the start of it is dropped, even under the cap.
        let body = format!("ok {}", &secret[..7]);
        assert_eq!(
            redact_cut(&body, &[secret], 100, true),
            ("ok ".into(), true)
        );
        // Read whole and under the cap: only redacted, nothing else dropped.
        let body = format!("ok {secret} k3");
        assert_eq!(
            redact_cut(&body, &[secret], 100, false),
            (format!("ok {REDACTED} k3"), false)
        );
        // The cap holds after redacting lengthens the text, and cuts respect characters.
        let (shown, cut) = redact_cut(&"x".repeat(20), &["x"], 25, false);
        assert_eq!((shown.as_str(), cut), ("[REDACTED][REDACTED][REDA", true));
        let (shown, cut) = redact_cut(&"é".repeat(60), &[], 101, false);
        assert_eq!((shown.len(), cut), (100, true));
    }

    #[test]
    fn secrets_are_redacted_in_every_form() {
        assert_eq!(
            redact(
                "token=abc123 and Bearer abc123; b64 YWRhOmFiYzEyMw==",
                &["abc123", "YWRhOmFiYzEyMw==", ""]
            ),
            "token=[REDACTED] and Bearer [REDACTED]; b64 [REDACTED]"
        );
        let shown = ShownResponse {
            status: 200,
            headers: vec![
                ("Set-Cookie".into(), "a=1".into()),
                ("set-cookie".into(), "b=2".into()),
                ("Set-Cookie".into(), "c=3".into()),
            ],
            body: String::new(),
            truncated: false,
        };
        let json = serde_json::to_value(&shown).unwrap();
        assert_eq!(
            json["headers"],
            json!({ "Set-Cookie": "a=1, c=3", "set-cookie": "b=2" })
        );
    }

    #[test]
    fn set_cookie_values_are_masked_and_their_names_and_attributes_kept() {
        assert_eq!(
            mask_set_cookie("SESSION=abc123; Path=/; HttpOnly; Secure"),
            "SESSION=[REDACTED]; Path=/; HttpOnly; Secure"
        );
        assert_eq!(mask_set_cookie("id=a=b"), "id=[REDACTED]");
        assert_eq!(mask_set_cookie("justavalue"), "[REDACTED]");
        assert_eq!(
            mask_set_cookie("novalue; Max-Age=0"),
            "[REDACTED]; Max-Age=0"
        );
    }

    #[test]
    fn a_query_key_is_taken_off_a_url() {
        assert_eq!(
            without_query_param("https://b.example/x?apiKey=s3&page=2&apiKey=s4", "apiKey"),
            "https://b.example/x?page=2"
        );
        assert_eq!(
            without_query_param("https://b.example/x?apiKey=s3", "apiKey"),
            "https://b.example/x"
        );
        // Untouched (byte for byte) when the key is not there; names match exactly.
        for url in [
            "https://b.example/x?q=a%20b",
            "https://b.example/x?apikey=s3",
            "not a url",
        ] {
            assert_eq!(without_query_param(url, "apiKey"), url);
        }
    }

    #[test]
    fn urls_off_the_connector_origin_are_refused() {
        let base = "https://api.example.com/v1";
        for ok in [
            "https://api.example.com/v1",
            "https://api.example.com/v1/users?x=1",
            "https://api.example.com:443/v1/a",
        ] {
            assert!(check_same_origin(base, ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.example.com/v1/users",
            "https://api.example.com:8443/v1/users",
            "https://evil.example/v1/users",
            "https://api.example.com.evil.example/v1",
            "https://api.example.com/v2/users",
            "https://api.example.com/v1x",
            "https://api.example.com/v1/../admin",
            "https://user@api.example.com/v1/users",
        ] {
            assert!(check_same_origin(base, bad).is_err(), "{bad}");
        }
        assert!(check_same_origin("https://api.example.com", "https://api.example.com/").is_ok());
    }
}
