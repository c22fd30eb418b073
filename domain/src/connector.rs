//! Connectors: an external API registered once — its name, base URL, authentication and headers —
//! and how its credentials are placed on a request. Validation here runs in the browser (as you
//! type) and on the server (authoritative), so both say the same thing.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Field errors of a connector form, keyed by field name (`name`, `base_url`, `auth.username`,
/// `headers[2].key`, …), each a sentence saying how to fix it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, message) in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{field}: {message}")?;
            first = false;
        }
        Ok(())
    }
}

/// A connector's name: trimmed, 1–100 characters, unique without regard to case. Runs of spaces
/// inside are one space, and characters that show nothing are refused, so two names that look
/// the same in the step's *Select Connector* list are the same name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorName(String);

/// Characters that show nothing, or reorder what follows: zero-width spaces and joiners, the
/// byte-order mark, soft hyphen, Hangul fillers, variation selectors, tags, and the
/// bidirectional controls and marks.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

impl ConnectorName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<ConnectorName, String> {
        if input.trim().chars().any(char::is_control) {
            return Err("A name cannot contain control characters.".into());
        }
        let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err("Enter a name, e.g. Jira.".into());
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(format!("Use at most {} characters.", Self::MAX_CHARS));
        }
        if name.chars().any(is_invisible) {
            return Err(
                "A name cannot contain invisible characters (zero-width spaces, direction marks): \
                 retype it rather than pasting it."
                    .into(),
            );
        }
        Ok(ConnectorName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key that makes names unique: "Jira" and " jira " are the same connector.
    pub fn unique_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Where a connector's endpoints live: `http(s)://host[:port][/path]`, no query, fragment or
/// credentials, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(input: &str) -> Result<BaseUrl, String> {
        let input = input.trim();
        if input.is_empty() {
            return Err("Enter the API's base URL, e.g. https://api.example.com/v1.".into());
        }
        if input.len() > Self::MAX_CHARS {
            return Err(format!("Use at most {} characters.", Self::MAX_CHARS));
        }
        // WHATWG parsing forgives `https:///x` (host "x") and `https:x`; people mean neither.
        let written_host = input.split_once("://").map(|(_, rest)| rest);
        if let Some(hint) = written_host.and_then(international_host) {
            return Err(hint);
        }
        let url = written_host
            .filter(|rest| !rest.starts_with('/') && !rest.is_empty())
            .and_then(|_| url::Url::parse(input).ok())
            .ok_or_else(|| {
                "Enter a full URL starting with https:// (or http://), e.g. https://api.example.com/v1."
                    .to_owned()
            })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("Only http:// and https:// URLs are supported.".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("The URL needs a host, e.g. https://api.example.com.".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "Do not put credentials in the URL: choose Basic under Authentication.".into(),
            );
        }
        if url.query().is_some() || input.contains('?') {
            return Err(
                "Remove the query string: add API keys under Authentication › Query.".into(),
            );
        }
        if url.fragment().is_some() || input.contains('#') {
            return Err("Remove the #fragment: it is never sent to the server.".into());
        }
        Ok(BaseUrl(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Plain http: allowed, with a warning that credentials travel unencrypted.
    pub fn is_plain_http(&self) -> bool {
        self.0.starts_with("http://")
    }
}

/// The advice for a host name written with non-ASCII letters (`rest` is the URL after `://`), or
/// `None` for an ASCII host. Switchboard is built without Unicode host-name support (idna_adapter
/// 1.0; see the workspace Cargo.toml), so such a host is refused, and the message gives its ASCII
/// (Punycode) form: each label lower-cased and encoded. That is the IDNA form for a host typed in
/// the usual composed form (NFC). For other spellings (decomposed letters, or characters UTS 46
/// maps, such as full-width ones) it can differ from the real name, which needs the normalisation
/// tables this build leaves out; the xn-- form a browser's address bar shows is then the one to copy.
fn international_host(rest: &str) -> Option<String> {
    let authority = rest.split(['/', '?', '#', '\\']).next()?;
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host_port,
    };
    if host.is_ascii() {
        return None;
    }
    let ascii: Option<Vec<String>> = host
        .to_lowercase()
        // The full stops UTS 46 treats as dots.
        .split(['.', '\u{3002}', '\u{ff0e}', '\u{ff61}'])
        .map(|label| match label.is_ascii() {
            true => Some(label.to_owned()),
            false => idna::punycode::encode_str(label).map(|code| format!("xn--{code}")),
        })
        .collect();
    Some(match ascii {
        Some(labels) => format!(
            "Write the host name in its ASCII form: {} for {host}. Switchboard does not convert international host names.",
            labels.join(".")
        ),
        None => format!(
            "Write the host name {host} in its ASCII (xn--) form: Switchboard does not convert international host names."
        ),
    })
}

/// An HTTP header name: an RFC 9110 token.
pub fn check_header_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("Enter a header name, e.g. X-Organization-ID.".into());
    }
    if name.len() > 100 {
        return Err("Use at most 100 characters for a header name.".into());
    }
    let token = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(format!(
            "{name:?} is not a valid header name: use letters, digits and - (e.g. X-Api-Key)."
        ));
    }
    Ok(name.to_owned())
}

/// An HTTP header value: no CR, LF or other control characters (they would let a value start a
/// new header), at most 4096 characters.
pub fn check_header_value(input: &str) -> Result<String, String> {
    if input.chars().any(|c| c.is_control() && c != '\t') {
        return Err("A header value cannot contain line breaks or control characters.".into());
    }
    if input.chars().count() > 4096 {
        return Err("Use at most 4096 characters for a header value.".into());
    }
    Ok(input.trim().to_owned())
}

/// A credential sent in a header: HTTP carries visible ASCII, spaces and tabs there, nothing else.
fn check_header_ascii(value: &str) -> Result<(), String> {
    if value.chars().all(|c| c == '\t' || (' '..='~').contains(&c)) {
        Ok(())
    } else {
        Err("A header can only carry ASCII letters, digits, spaces and punctuation; this has other characters.".into())
    }
}

/// A query parameter name for Query authentication.
pub fn check_param_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("Enter the parameter name, e.g. apiKey.".into());
    }
    if name.len() > 100
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    {
        return Err("Use letters, digits, -, _, . or ~ (at most 100), e.g. apiKey.".into());
    }
    Ok(name.to_owned())
}

/// The kinds of authentication, as the form's segmented control and the API's `auth.type` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    None,
    Basic,
    Bearer,
    Header,
    Query,
}

impl AuthKind {
    pub const ALL: [AuthKind; 5] = [
        AuthKind::None,
        AuthKind::Basic,
        AuthKind::Bearer,
        AuthKind::Header,
        AuthKind::Query,
    ];

    pub fn label(self) -> &'static str {
        match self {
            AuthKind::None => "None",
            AuthKind::Basic => "Basic",
            AuthKind::Bearer => "Bearer",
            AuthKind::Header => "Header",
            AuthKind::Query => "Query",
        }
    }

    /// The field that holds this kind's secret, if it has one.
    pub fn secret_field(self) -> Option<&'static str> {
        match self {
            AuthKind::None => None,
            AuthKind::Basic => Some("auth.password"),
            AuthKind::Bearer => Some("auth.token"),
            AuthKind::Header | AuthKind::Query => Some("auth.api_key"),
        }
    }
}

/// A validated authentication with its secret. The secret is a `SecretString`: redacted
/// `Debug`, no `Serialize`, zeroized on drop.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Basic {
        username: String,
        password: SecretString,
    },
    Bearer {
        token: SecretString,
    },
    Header {
        header_name: String,
        api_key: SecretString,
    },
    Query {
        param_name: String,
        api_key: SecretString,
    },
}

/// The non-secret part of an authentication: what may be stored in clear and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthSettings {
    None,
    Basic { username: String },
    Bearer,
    Header { header_name: String },
    Query { param_name: String },
}

impl AuthSettings {
    pub fn kind(&self) -> AuthKind {
        match self {
            AuthSettings::None => AuthKind::None,
            AuthSettings::Basic { .. } => AuthKind::Basic,
            AuthSettings::Bearer => AuthKind::Bearer,
            AuthSettings::Header { .. } => AuthKind::Header,
            AuthSettings::Query { .. } => AuthKind::Query,
        }
    }

    /// Rebuilds the full authentication from the stored settings and the decrypted secret.
    pub fn with_secret(&self, secret: Option<SecretString>) -> Option<Auth> {
        Some(match self.clone() {
            AuthSettings::None => Auth::None,
            AuthSettings::Basic { username } => Auth::Basic {
                username,
                password: secret?,
            },
            AuthSettings::Bearer => Auth::Bearer { token: secret? },
            AuthSettings::Header { header_name } => Auth::Header {
                header_name,
                api_key: secret?,
            },
            AuthSettings::Query { param_name } => Auth::Query {
                param_name,
                api_key: secret?,
            },
        })
    }
}

impl Auth {
    pub fn settings(&self) -> AuthSettings {
        match self {
            Auth::None => AuthSettings::None,
            Auth::Basic { username, .. } => AuthSettings::Basic {
                username: username.clone(),
            },
            Auth::Bearer { .. } => AuthSettings::Bearer,
            Auth::Header { header_name, .. } => AuthSettings::Header {
                header_name: header_name.clone(),
            },
            Auth::Query { param_name, .. } => AuthSettings::Query {
                param_name: param_name.clone(),
            },
        }
    }

    pub fn secret(&self) -> Option<&SecretString> {
        match self {
            Auth::None => None,
            Auth::Basic { password, .. } => Some(password),
            Auth::Bearer { token } => Some(token),
            Auth::Header { api_key, .. } | Auth::Query { api_key, .. } => Some(api_key),
        }
    }

    /// The header this authentication sets, which connector headers may not also set.
    pub fn header_name(&self) -> Option<&str> {
        match self {
            Auth::Basic { .. } | Auth::Bearer { .. } => Some("Authorization"),
            Auth::Header { header_name, .. } => Some(header_name),
            Auth::None | Auth::Query { .. } => None,
        }
    }

    /// Every form in which the secret could come back in a response, for redaction. The secret,
    /// and for Basic the base64 of `user:password` as the header carries it, each as sent,
    /// percent-encoded (upper and lower case hex), form-encoded as a query sends it, and inside
    /// a JSON string as common encoders write it: serde's and JavaScript's escapes, with `/` as
    /// `\/` (PHP's `json_encode`), non-ASCII as `\uXXXX` (Python's `json.dumps`, PHP's), and
    /// `<`, `>`, `&` as `\u003c`… (Go's `encoding/json`).
    pub fn redaction_forms(&self) -> Vec<SecretString> {
        forms_of(&self.redaction_bases())
    }

    /// The secret as sent, for Basic the base64 of `user:password` as the header carries it, and
    /// for a Header API key with a scheme around the credential (`Authorization: SSWS 00abc…`)
    /// the credential alone, as for a secret header.
    fn redaction_bases(&self) -> Vec<String> {
        let Some(secret) = self.secret() else {
            return Vec::new();
        };
        let mut bases = vec![secret.expose_secret().to_owned()];
        match self {
            Auth::Basic { username, password } => {
                use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
                let pair = format!("{username}:{}", password.expose_secret());
                // As the header carries it, and as an upstream may echo it: URL-safe, padded or
                // not (a form without its padding also covers the standard one cut short).
                bases.push(STANDARD.encode(&pair));
                bases.push(STANDARD.encode(&pair).trim_end_matches('=').to_owned());
                bases.push(URL_SAFE.encode(&pair));
                bases.push(URL_SAFE_NO_PAD.encode(&pair));
            }
            Auth::Header { api_key, .. } => bases.extend(credential_parts(api_key.expose_secret())),
            Auth::None | Auth::Bearer { .. } | Auth::Query { .. } => {}
        }
        bases
    }

    /// Places the credentials on a request: the headers and query parameters to add.
    pub fn credentials(&self) -> Credentials {
        let mut out = Credentials::default();
        match self {
            Auth::None => {}
            Auth::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                out.headers.push((
                    "Authorization".into(),
                    SecretString::from(format!("Basic {encoded}")),
                ));
            }
            Auth::Bearer { token } => out.headers.push((
                "Authorization".into(),
                SecretString::from(format!("Bearer {}", token.expose_secret())),
            )),
            Auth::Header {
                header_name,
                api_key,
            } => out.headers.push((header_name.clone(), api_key.clone())),
            Auth::Query {
                param_name,
                api_key,
            } => out.query.push((param_name.clone(), api_key.clone())),
        }
        out
    }
}

/// Everything secret a connector sends: its authentication and its secret headers.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub auth: Auth,
    pub headers: Vec<(String, SecretString)>,
}

impl Secrets {
    /// Nothing secret: what a request to another origin carries.
    pub fn none() -> Secrets {
        Secrets {
            auth: Auth::None,
            headers: Vec::new(),
        }
    }

    /// Every form in which any of the secrets could come back, as [`Auth::redaction_forms`].
    /// A secret header's value may hold a scheme around the credential (`SSWS 00abc`,
    /// `Token token=xyz`, `Basic <base64>`): the credential alone is redacted too.
    pub fn redaction_forms(&self) -> Vec<SecretString> {
        let mut bases = self.auth.redaction_bases();
        for (_, value) in &self.headers {
            let value = value.expose_secret();
            bases.push(value.to_owned());
            bases.extend(credential_parts(value));
        }
        forms_of(&bases)
    }

    /// The authentication's credentials, then the secret headers.
    pub fn credentials(&self) -> Credentials {
        let mut out = self.auth.credentials();
        out.headers.extend(self.headers.iter().cloned());
        out
    }
}

/// The shortest part of a header value redacted on its own: shorter ones would mask common words.
const MIN_PART_CHARS: usize = 8;

/// The credential inside a header value with a scheme: after the scheme's space, after the last
/// `=`, and for `Basic` the decoded `user:password` and the password. Only parts of at least
/// [`MIN_PART_CHARS`] characters.
fn credential_parts(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some((scheme, rest)) = value.split_once(' ') {
        parts.push(rest.trim().to_owned());
        if scheme.eq_ignore_ascii_case("basic")
            && let Ok(pair) = base64::engine::general_purpose::STANDARD.decode(rest.trim())
            && let Ok(pair) = String::from_utf8(pair)
        {
            if let Some((_, password)) = pair.split_once(':') {
                parts.push(password.to_owned());
            }
            parts.push(pair);
        }
    }
    if let Some((_, last)) = value.rsplit_once('=') {
        parts.push(last.trim_matches(['"', ' ']).to_owned());
    }
    parts.retain(|p| p.chars().count() >= MIN_PART_CHARS && p != value);
    parts
}

/// Each base as sent, percent-encoded (upper and lower case hex), form-encoded as a query sends
/// it, and inside a JSON string as common encoders write it.
fn forms_of(bases: &[String]) -> Vec<SecretString> {
    let mut forms: Vec<String> = Vec::new();
    for base in bases {
        forms.push(base.clone());
        let mut encoded = String::new();
        crate::render::percent_encode(base, &mut encoded);
        // JavaScript's encodeURIComponent leaves ! * ' ( ) as they are.
        let component = ["%21", "%2A", "%27", "%28", "%29"]
            .iter()
            .zip(["!", "*", "'", "(", ")"])
            .fold(encoded.clone(), |text, (escape, c)| text.replace(escape, c));
        forms.push(lower_hex_escapes(&component));
        forms.push(component);
        forms.push(lower_hex_escapes(&encoded));
        forms.push(encoded);
        let form: String = url::form_urlencoded::byte_serialize(base.as_bytes()).collect();
        forms.push(lower_hex_escapes(&form));
        forms.push(form);
        forms.extend(json_string_forms(base));
    }
    forms.retain(|f| !f.is_empty());
    forms.sort();
    forms.dedup();
    forms.into_iter().map(SecretString::from).collect()
}

/// `text` inside a JSON string as the common encoders write it (without the quotes).
fn json_string_forms(text: &str) -> Vec<String> {
    use std::fmt::Write as _;
    let plain = serde_json::to_string(text).unwrap_or_default();
    let plain = plain[1..plain.len().saturating_sub(1).max(1)].to_owned();
    let mut ascii = String::with_capacity(plain.len());
    let mut go = String::with_capacity(plain.len());
    for c in plain.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(ascii, "\\u{unit:04x}");
            }
        }
        match c {
            '<' => go.push_str("\\u003c"),
            '>' => go.push_str("\\u003e"),
            '&' => go.push_str("\\u0026"),
            '\u{2028}' => go.push_str("\\u2028"),
            '\u{2029}' => go.push_str("\\u2029"),
            c => go.push(c),
        }
    }
    let slashed = |s: &str| s.replace('/', "\\/");
    vec![slashed(&plain), slashed(&ascii), ascii, go, plain]
}

/// `%2F` → `%2f`: some servers echo escapes in lower case.
fn lower_hex_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}

/// Credentials to add to one request. Values stay secret until the HTTP client takes them.
#[derive(Debug, Default)]
pub struct Credentials {
    pub headers: Vec<(String, SecretString)>,
    pub query: Vec<(String, SecretString)>,
}

/// What a form or API call sends for authentication. Secret fields are optional: on an edit, an
/// absent secret keeps the stored one (when the type is unchanged). A field it does not know is
/// refused, not ignored: a misspelt one would otherwise be a credential silently dropped.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthInput {
    #[serde(rename = "type")]
    pub kind: Option<AuthKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// Secrets as typed are shown as `••••••`: a stray `{:?}` in a log must not print them.
impl fmt::Debug for AuthInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "••••••");
        f.debug_struct("AuthInput")
            .field("kind", &self.kind)
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("token", &hidden(&self.token))
            .field("header_name", &self.header_name)
            .field("param_name", &self.param_name)
            .field("api_key", &hidden(&self.api_key))
            .finish()
    }
}

/// One header row as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderInput {
    pub key: String,
    pub value: String,
}

/// One connector header row as typed, or as shown. A secret row's value is write-only: stored
/// encrypted, sent to the API, never shown again (it is shown empty); left empty on an edit, it
/// keeps the stored value.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorHeader {
    pub key: String,
    #[serde(default)]
    pub value: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// A secret row's value is shown as `••••••`: a stray `{:?}` in a log must not print it.
impl fmt::Debug for ConnectorHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.secret && !self.value.is_empty() {
            "••••••"
        } else {
            &self.value
        };
        f.debug_struct("ConnectorHeader")
            .field("key", &self.key)
            .field("value", &value)
            .field("secret", &self.secret)
            .finish()
    }
}

/// A connector as a form or API call submits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorInput {
    pub name: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    pub base_url: String,
    pub auth: AuthInput,
    #[serde(default)]
    pub headers: Vec<ConnectorHeader>,
    /// An edit's `updated_at` as the connector showed it when it was opened: a save over a
    /// change made since is refused rather than undoing it. Left out, the edit is not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// A secret as typed: empty keeps the stored one when `keeps_secret`, else it is required.
fn secret_field(
    errors: &mut FieldErrors,
    keeps_secret: bool,
    field: &str,
    value: &Option<String>,
    what: &str,
) -> Option<SecretString> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => {
            if v.chars().count() > MAX_SECRET_CHARS {
                errors.add(field, format!("Use at most {MAX_SECRET_CHARS} characters."));
            } else if v.chars().any(char::is_control) {
                errors.add(
                    field,
                    "It cannot contain line breaks or control characters.",
                );
            }
            Some(SecretString::from(v.to_owned()))
        }
        _ if keeps_secret => None,
        _ => {
            errors.add(field, format!("Enter the {what}."));
            None
        }
    }
}

fn enabled_by_default() -> bool {
    true
}

/// The most header rows a connector may have.
pub const MAX_HEADERS: usize = 50;
/// The longest secret accepted.
pub const MAX_SECRET_CHARS: usize = 4096;

/// The connector as stored, which decides whether an empty secret field keeps the stored secret.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub settings: &'a AuthSettings,
    pub base_url: &'a str,
    /// The names of the stored secret headers.
    pub secret_headers: &'a [String],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reuse {
    Yes,
    /// Another authentication type: the old secret is dropped.
    OtherType,
    /// Same type, but to another origin or header/parameter name: it must be typed again.
    MovedElsewhere,
}

fn origin(url: &str) -> Option<(String, String, Option<u16>)> {
    let url = url::Url::parse(url.trim()).ok()?;
    Some((
        url.scheme().to_owned(),
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default(),
    ))
}

impl Stored<'_> {
    fn same_origin(&self, base_url: &str) -> bool {
        origin(self.base_url).is_some() && origin(self.base_url) == origin(base_url)
    }

    /// Whether an empty secret header `name` may keep its stored value: only for the same name
    /// (without regard to case) and the same scheme, host and port.
    fn header_reuse(&self, name: &str, base_url: &str) -> Option<Reuse> {
        let stored = self
            .secret_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name));
        match (stored, self.same_origin(base_url)) {
            (false, _) => None,
            (true, true) => Some(Reuse::Yes),
            (true, false) => Some(Reuse::MovedElsewhere),
        }
    }

    fn secret_reuse(&self, kind: AuthKind, auth: &AuthInput, base_url: &str) -> Reuse {
        if self.settings.kind() != kind {
            return Reuse::OtherType;
        }
        let same_origin = self.same_origin(base_url);
        let typed = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_owned();
        let same_place = match self.settings {
            AuthSettings::Header { header_name } => {
                header_name.eq_ignore_ascii_case(&typed(&auth.header_name))
            }
            AuthSettings::Query { param_name } => *param_name == typed(&auth.param_name),
            _ => true,
        };
        if same_origin && same_place {
            Reuse::Yes
        } else {
            Reuse::MovedElsewhere
        }
    }
}

impl ConnectorInput {
    fn auth_secret_value(&self, kind: AuthKind) -> Option<&str> {
        match kind {
            AuthKind::None => None,
            AuthKind::Basic => self.auth.password.as_deref(),
            AuthKind::Bearer => self.auth.token.as_deref(),
            AuthKind::Header | AuthKind::Query => self.auth.api_key.as_deref(),
        }
    }
}

/// Header names a step may not set: they carry credentials, which belong to the connector
/// (stored encrypted). A connector's plain headers are held to the broader [`is_credential_name`].
const CREDENTIAL_HEADERS: [&str; 8] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "apikey",
    "x-auth-token",
    "x-access-token",
];

/// Whether a header or query parameter a caller sent looks like it carries a credential or a
/// signature (`Authorization`, `X-Gitlab-Token`, `Stripe-Signature`, `?access_token=`, `?key=`…):
/// such values are kept out of a run's recorded input. Deliberately broad: a name hidden by
/// mistake costs a workflow one input field, a credential kept costs the credential.
pub fn is_credential_name(name: &str) -> bool {
    const PARTS: [&str; 12] = [
        "auth",
        "token",
        "secret",
        "passw",
        "signature",
        "cookie",
        "session",
        "credential",
        "apikey",
        "api-key",
        "api_key",
        "private-key",
    ];
    /// Words that name a credential when they stand alone between `-`, `_` or `.`:
    /// `X-App-Key`, `Ocp-Apim-Subscription-Key`, `X-Amz-Sig`, `db.pwd`.
    const WORDS: [&str; 5] = ["key", "sig", "pwd", "pass", "jwt"];
    /// Names holding a word that are not credentials (`Idempotency-Key` starts runs once).
    const NOT_CREDENTIALS: [&str; 1] = ["idempotency-key"];
    // Every name in CREDENTIAL_HEADERS holds one of PARTS.
    let lower = name.to_ascii_lowercase();
    if NOT_CREDENTIALS.contains(&lower.as_str()) {
        return false;
    }
    PARTS.iter().any(|part| lower.contains(part))
        || lower
            .split(['-', '_', '.'])
            .any(|word| WORDS.contains(&word))
}

/// A connector's stored header rows with its plain rows that carry a credential made secret.
#[derive(Debug)]
pub struct SealedRows {
    /// The rows as the `headers` column keeps them: a secret row's value is `None`.
    pub rows: Vec<(String, Option<String>)>,
    /// Every secret header's value: the ones already secret, then the ones sealed now.
    pub secrets: Vec<(String, SecretString)>,
    /// The names of the rows sealed now.
    pub sealed: Vec<String>,
}

/// Makes secret the plain header rows that hold a credential, as saved before secret headers
/// existed (or before a name was known to be one): a name that looks like one
/// ([`is_credential_name`]) with a value of at least [`MIN_PART_CHARS`] characters. Left plain
/// (and flagged in the list for the admin to decide): shorter values, which are rarely
/// credentials and would be redacted from every response (`X-Auth-Version: 2`), and headers a
/// step of a workflow using the connector sets (`step_headers`), which a secret header would
/// silently override. `None` when there is nothing to seal.
pub fn seal_plain_credentials(
    rows: &[(String, Option<String>)],
    secrets: &[(String, SecretString)],
    step_headers: &[String],
) -> Option<SealedRows> {
    let mut out = SealedRows {
        rows: Vec::with_capacity(rows.len()),
        secrets: secrets.to_vec(),
        sealed: Vec::new(),
    };
    for (name, value) in rows {
        let sealable = |value: &str| {
            is_credential_name(name)
                && value.trim().chars().count() >= MIN_PART_CHARS
                && !step_headers.iter().any(|h| h.eq_ignore_ascii_case(name))
        };
        match value {
            Some(value) if sealable(value) => {
                out.secrets
                    .push((name.clone(), SecretString::from(value.clone())));
                out.sealed.push(name.clone());
                out.rows.push((name.clone(), None));
            }
            _ => out.rows.push((name.clone(), value.clone())),
        }
    }
    (!out.sealed.is_empty()).then_some(out)
}

/// Header names a step may not set: credentials (they belong to the connector, encrypted) and
/// the framing headers the HTTP client owns.
pub fn check_header_allowed(name: &str) -> Result<(), String> {
    if CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "{name} carries a credential: set it on the connector, under Authentication or as a Secret header, where it is stored encrypted."
        ));
    }
    check_framing_header(name)
}

/// The framing headers the HTTP client owns.
fn check_framing_header(name: &str) -> Result<(), String> {
    const FRAMING: [&str; 9] = [
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
        "proxy-connection",
    ];
    if FRAMING.contains(&name.to_ascii_lowercase().as_str()) {
        Err(format!(
            "{name} is set by Switchboard's HTTP client; remove this header."
        ))
    } else {
        Ok(())
    }
}

/// A validated connector ready to store; `auth` is `None` when the stored secret is to be kept.
#[derive(Debug, Clone)]
pub struct ValidConnector {
    pub name: ConnectorName,
    pub enabled: bool,
    pub base_url: BaseUrl,
    pub settings: AuthSettings,
    /// The new secret, or `None` to keep the stored one (or for `None` authentication).
    pub new_secret: Option<SecretString>,
    /// The header rows in order, each plain or secret.
    pub headers: Vec<(String, RowValue)>,
}

/// A header row's value once validated.
#[derive(Debug, Clone)]
pub enum RowValue {
    Plain(String),
    /// A secret header's new value, or `None` to keep the stored one.
    Secret(Option<SecretString>),
}

impl ValidConnector {
    /// The plain headers, as planning and the HTTP client take them.
    pub fn plain_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter_map(|(name, value)| match value {
                RowValue::Plain(v) => Some((name.clone(), v.clone())),
                RowValue::Secret(_) => None,
            })
            .collect()
    }

    /// The rows as stored in clear: a secret row's value is `None` (it is kept encrypted).
    pub fn stored_rows(&self) -> Vec<(String, Option<String>)> {
        self.headers
            .iter()
            .map(|(name, value)| match value {
                RowValue::Plain(v) => (name.clone(), Some(v.clone())),
                RowValue::Secret(_) => (name.clone(), None),
            })
            .collect()
    }

    /// The secret headers with their values: typed ones as typed, kept ones from `stored`
    /// (the decrypted stored secret headers). `Err(name)` when a kept one is not in `stored`.
    pub fn secret_headers(
        &self,
        stored: &[(String, SecretString)],
    ) -> Result<Vec<(String, SecretString)>, String> {
        let mut out = Vec::new();
        for (name, value) in &self.headers {
            match value {
                RowValue::Plain(_) => {}
                RowValue::Secret(Some(v)) => out.push((name.clone(), v.clone())),
                RowValue::Secret(None) => {
                    let kept = stored
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(name))
                        .ok_or_else(|| name.clone())?;
                    out.push((name.clone(), kept.1.clone()));
                }
            }
        }
        Ok(out)
    }
}

impl ConnectorInput {
    /// Validates every field and reports all errors at once. `stored` is the connector as kept
    /// on the server (on an edit): a secret field left empty keeps it, if the type is unchanged.
    pub fn validate(&self, stored: Option<Stored<'_>>) -> Result<ValidConnector, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = ConnectorName::parse(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let base_url = BaseUrl::parse(&self.base_url)
            .map_err(|e| errors.add("base_url", e))
            .ok();

        // Left out, the type is None only for a new connector that says nothing else about its
        // authentication: on an edit it would drop the stored secret, and beside a token or a
        // password (`{"Type": "bearer", …}`, a typo) it would silently ignore them.
        let kind = match self.auth.kind {
            Some(kind) => kind,
            None if stored.is_none() && self.auth == AuthInput::default() => AuthKind::None,
            None => {
                errors.add(
                    "auth.type",
                    "Say which authentication the connector uses: \"type\" is one of none, basic, \
                     bearer, header or query (an edit that leaves it out would drop the stored secret).",
                );
                AuthKind::None
            }
        };
        // The stored secret is reused only where it was meant to go: same type, same scheme,
        // host and port, same header or parameter name. Otherwise an edit could send it elsewhere.
        let reuse = stored.map(|s| s.secret_reuse(kind, &self.auth, &self.base_url));
        let keeps_secret = reuse == Some(Reuse::Yes);
        if let (Some(Reuse::MovedElsewhere), Some(field)) = (reuse, kind.secret_field())
            && self.auth_secret_value(kind).is_none_or(str::is_empty)
        {
            errors.add(
                field,
                "Enter it again: the stored one is only reused for the same host and the same header or parameter name.",
            );
        }
        let (settings, new_secret) = match kind {
            AuthKind::None => (AuthSettings::None, None),
            AuthKind::Basic => {
                let username = self.auth.username.as_deref().unwrap_or_default().trim();
                if username.is_empty() {
                    errors.add("auth.username", "Enter the username.");
                } else if username.contains(':') || username.chars().any(char::is_control) {
                    errors.add(
                        "auth.username",
                        "A Basic username cannot contain : or control characters.",
                    );
                } else if username.chars().count() > 256 {
                    errors.add("auth.username", "Use at most 256 characters.");
                }
                let password = secret_field(
                    &mut errors,
                    keeps_secret,
                    "auth.password",
                    &self.auth.password,
                    "password",
                );
                (
                    AuthSettings::Basic {
                        username: username.to_owned(),
                    },
                    password,
                )
            }
            AuthKind::Bearer => {
                let token = secret_field(
                    &mut errors,
                    keeps_secret,
                    "auth.token",
                    &self.auth.token,
                    "token",
                );
                if let Some(Err(e)) = token
                    .as_ref()
                    .map(|t| check_header_ascii(t.expose_secret()))
                {
                    errors.add("auth.token", e);
                }
                (AuthSettings::Bearer, token)
            }
            AuthKind::Header => {
                let header_name =
                    check_header_name(self.auth.header_name.as_deref().unwrap_or_default())
                        .map_err(|e| errors.add("auth.header_name", e))
                        .unwrap_or_default();
                let key = secret_field(
                    &mut errors,
                    keeps_secret,
                    "auth.api_key",
                    &self.auth.api_key,
                    "API key",
                );
                if let Some(Err(e)) = key.as_ref().map(|k| check_header_ascii(k.expose_secret())) {
                    errors.add("auth.api_key", e);
                }
                (AuthSettings::Header { header_name }, key)
            }
            AuthKind::Query => {
                let param_name =
                    check_param_name(self.auth.param_name.as_deref().unwrap_or_default())
                        .map_err(|e| errors.add("auth.param_name", e))
                        .unwrap_or_default();
                let key = secret_field(
                    &mut errors,
                    keeps_secret,
                    "auth.api_key",
                    &self.auth.api_key,
                    "API key",
                );
                (AuthSettings::Query { param_name }, key)
            }
        };
        let auth_header = crate::plan::auth_header_name(&settings);

        if self.headers.len() > MAX_HEADERS {
            errors.add("headers", format!("Use at most {MAX_HEADERS} headers."));
        }
        let mut headers = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, row) in self.headers.iter().enumerate() {
            if row.key.trim().is_empty() && row.value.trim().is_empty() {
                continue; // an empty row left in the form
            }
            let key = match check_header_name(&row.key) {
                Ok(key) => key,
                Err(e) => {
                    errors.add(format!("headers[{i}].key"), e);
                    continue;
                }
            };
            let lower = key.to_ascii_lowercase();
            if auth_header.is_some_and(|h| h.eq_ignore_ascii_case(&key)) {
                errors.add(
                    format!("headers[{i}].key"),
                    format!(
                        "{key} is set by the {} authentication; remove this header.",
                        kind.label()
                    ),
                );
            } else if let Err(e) = check_framing_header(&key) {
                errors.add(format!("headers[{i}].key"), e);
            } else if !row.secret && is_credential_name(&key) {
                errors.add(
                    format!("headers[{i}].key"),
                    format!(
                        "{key} looks like it carries a credential: mark the header Secret, so it is stored encrypted and never shown again."
                    ),
                );
            } else if !seen.insert(lower) {
                errors.add(
                    format!("headers[{i}].key"),
                    format!("{key} is listed twice."),
                );
            }
            let field = format!("headers[{i}].value");
            let reuse = stored.and_then(|s| s.header_reuse(&key, &self.base_url));
            if !row.secret && row.value.is_empty() && reuse.is_some() {
                errors.add(
                    field,
                    format!(
                        "{key} is stored as a Secret header: tick Secret to keep its value, type a new value, or remove the row."
                    ),
                );
                continue;
            }
            if !row.secret {
                match check_header_value(&row.value) {
                    Ok(value) => headers.push((key, RowValue::Plain(value))),
                    Err(e) => errors.add(field, e),
                }
                continue;
            }
            if row.value.is_empty() {
                match reuse {
                    Some(Reuse::Yes) => headers.push((key, RowValue::Secret(None))),
                    Some(_) => errors.add(
                        field,
                        "Enter it again: a stored secret header is only reused for the same host.",
                    ),
                    None => errors.add(field, format!("Enter the value of {key}.")),
                }
            } else if row.value.chars().count() > MAX_SECRET_CHARS {
                errors.add(field, format!("Use at most {MAX_SECRET_CHARS} characters."));
            } else if row.value.chars().any(char::is_control) {
                errors.add(
                    field,
                    "It cannot contain line breaks or control characters.",
                );
            } else if row.value.trim() != row.value {
                errors.add(field, "It cannot start or end with a space.");
            } else if let Err(e) = check_header_ascii(&row.value) {
                errors.add(field, e);
            } else {
                let value = SecretString::from(row.value.clone());
                headers.push((key, RowValue::Secret(Some(value))));
            }
        }

        match (name, base_url) {
            (Some(name), Some(base_url)) if errors.is_empty() => Ok(ValidConnector {
                name,
                enabled: self.enabled,
                base_url,
                settings,
                new_secret,
                headers,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(auth: &Auth) -> Vec<String> {
        auth.redaction_forms()
            .iter()
            .map(|f| f.expose_secret().to_owned())
            .collect()
    }

    #[test]
    fn redaction_covers_the_forms_encoders_write() {
        let bearer = Auth::Bearer {
            token: SecretString::from("ab/c+d&é<"),
        };
        let found = forms(&bearer);
        for expected in [
            "ab/c+d&é<",
            // Percent-encoded in a path or query, both cases of hex; form-encoded.
            "ab%2Fc%2Bd%26%C3%A9%3C",
            "ab%2fc%2bd%26%c3%a9%3c",
            "ab%2Fc%2Bd%26%C3%A9%3C",
            // JSON: PHP (`\/`, `\u00e9`), Python (`\u00e9`), Go (`\u0026`, `\u003c`).
            "ab\\/c+d&\\u00e9<",
            "ab/c+d&\\u00e9<",
            "ab/c+d\\u0026é\\u003c",
            "ab\\/c+d&é<",
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "{expected} not in {found:?}"
            );
        }
        // Basic: the base64 pair as the header carries it, also percent- and JSON-escaped.
        let basic = Auth::Basic {
            username: "svc".into(),
            password: SecretString::from("????>?"),
        };
        let pair = base64::engine::general_purpose::STANDARD.encode("svc:????>?");
        assert!(pair.contains('/') && pair.contains('+'), "{pair}");
        let found = forms(&basic);
        for expected in [
            pair.clone(),
            pair.replace('/', "\\/"),
            pair.replace('/', "%2F")
                .replace('+', "%2B")
                .replace('=', "%3D"),
            pair.replace('/', "%2f")
                .replace('+', "%2b")
                .replace('=', "%3d"),
            "????>?".to_owned(),
        ] {
            assert!(found.contains(&expected), "{expected} not in {found:?}");
        }
        // Echoed URL-safe, and without its padding.
        let url_safe = pair.replace('/', "_").replace('+', "-");
        for expected in [
            url_safe.trim_end_matches('='),
            &url_safe,
            pair.trim_end_matches('='),
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "{expected} not in {found:?}"
            );
        }
        // As JavaScript's encodeURIComponent writes it (! * ' ( ) left as they are).
        let quoted = Auth::Bearer {
            token: SecretString::from("k(e)y!*' x"),
        };
        assert!(forms(&quoted).contains(&"k(e)y!*'%20x".to_owned()));
        // An astral character is two UTF-16 escapes, as JSON writes it.
        let emoji = Auth::Bearer {
            token: SecretString::from("k😀"),
        };
        assert!(forms(&emoji).contains(&"k\\ud83d\\ude00".to_owned()));
        assert!(forms(&Auth::None).is_empty());
        assert!(found.iter().all(|f| !f.is_empty()));
    }

    #[test]
    fn credential_names_are_recognised() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "X-Api-Key",
            "x-gitlab-token",
            "X-Hub-Signature-256",
            "stripe-signature",
            "x-slack-signature",
            "X-Vault-Token",
            "DD-API-KEY",
            "access_token",
            "client_secret",
            "password",
            "key",
            "sig",
            "x-session-id",
            "X-App-Key",
            "DD-APPLICATION-KEY",
            "Ocp-Apim-Subscription-Key",
            "x_client_pass",
            "db.pwd",
        ] {
            assert!(is_credential_name(name), "{name}");
        }
        // What a connector header may not be is hidden from a webhook's input too.
        for name in CREDENTIAL_HEADERS {
            assert!(is_credential_name(name), "{name}");
        }
        for name in [
            "content-type",
            "user-agent",
            "x-github-event",
            "x-request-id",
            "idempotency-key",
            "Idempotency-Key",
            "page",
            "monkey",
            "x-keyboard-layout",
            "passenger",
        ] {
            assert!(!is_credential_name(name), "{name}");
        }
    }

    fn input(kind: AuthKind) -> ConnectorInput {
        ConnectorInput {
            name: "Jira".into(),
            enabled: true,
            base_url: "https://example.atlassian.net/rest/".into(),
            auth: AuthInput {
                kind: Some(kind),
                username: Some("svc@example.com".into()),
                password: Some("pw-secret".into()),
                token: Some("tok-secret".into()),
                header_name: Some("X-Api-Key".into()),
                param_name: Some("apiKey".into()),
                api_key: Some("key-secret".into()),
            },
            headers: vec![ConnectorHeader {
                key: "X-Organization-ID".into(),
                value: "42".into(),
                secret: false,
            }],
            updated_at: None,
        }
    }

    #[test]
    fn names_are_trimmed_bounded_and_compared_without_case() {
        let name = ConnectorName::parse("  Jira Cloud ").unwrap();
        assert_eq!(name.as_str(), "Jira Cloud");
        assert_eq!(name.unique_key(), "jira cloud");
        assert!(ConnectorName::parse("   ").is_err());
        assert!(ConnectorName::parse(&"x".repeat(101)).is_err());
        assert!(ConnectorName::parse("a\nb").is_err());
        // Names that look the same are the same name.
        for lookalike in ["Jira  Cloud", "Jira\u{A0}Cloud", " JIRA   cloud"] {
            let parsed = ConnectorName::parse(lookalike).unwrap();
            assert_eq!(parsed.unique_key(), "jira cloud", "{lookalike:?}");
        }
        for hidden in [
            "Jira\u{200B}",
            "Ji\u{200D}ra",
            "\u{FEFF}Jira",
            "Jira\u{202E}",
            "Jira\u{61C}",
            "Jira\u{3164}",
            "Jira\u{E0041}",
        ] {
            let refused = ConnectorName::parse(hidden).unwrap_err();
            assert!(
                refused.contains("invisible characters"),
                "{hidden:?}: {refused}"
            );
        }
        assert_eq!(
            ConnectorName::parse("Café Ops").unwrap().as_str(),
            "Café Ops"
        );
    }

    #[test]
    fn base_urls_are_checked_and_normalised() {
        assert_eq!(
            BaseUrl::parse("https://api.example.com/v1/")
                .unwrap()
                .as_str(),
            "https://api.example.com/v1"
        );
        assert_eq!(
            BaseUrl::parse("https://example.com/api").unwrap().as_str(),
            "https://example.com/api"
        );
        assert_eq!(
            BaseUrl::parse("https://example.com/").unwrap().as_str(),
            "https://example.com"
        );
        assert_eq!(
            BaseUrl::parse("HTTPS://Example.COM:8443").unwrap().as_str(),
            "https://example.com:8443"
        );
        assert!(
            BaseUrl::parse("http://127.0.0.1:9000")
                .unwrap()
                .is_plain_http()
        );
        for (bad, says) in [
            ("", "Enter"),
            ("api.example.com", "full URL"),
            ("ftp://example.com", "Only http"),
            ("https://user:pw@example.com", "credentials"),
            ("https://example.com/v1?apiKey=1", "query"),
            ("https://example.com/v1#x", "fragment"),
            ("https:///path", "full URL"),
            (
                "https://bücher.example/v1",
                "xn--bcher-kva.example for bücher.example",
            ),
            (
                "https://user@BÜCHER.example:8443/v1",
                "xn--bcher-kva.example for BÜCHER.example",
            ),
            (
                "https://bücher。example",
                "xn--bcher-kva.example for bücher。example",
            ),
            (
                "https://例え.テスト/api",
                "xn--r8jz45g.xn--zckzah for 例え.テスト",
            ),
        ] {
            let err = BaseUrl::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn punycode_hosts_are_accepted_as_written() {
        assert_eq!(
            BaseUrl::parse("https://xn--bcher-kva.example/v1")
                .unwrap()
                .as_str(),
            "https://xn--bcher-kva.example/v1"
        );
        // Non-ASCII outside the host is percent-encoded, not refused.
        assert_eq!(
            BaseUrl::parse("https://api.example.com/bücher")
                .unwrap()
                .as_str(),
            "https://api.example.com/b%C3%BCcher"
        );
    }

    #[test]
    fn header_names_and_values() {
        assert_eq!(check_header_name(" X-Org ").unwrap(), "X-Org");
        assert!(check_header_name("X Org").is_err());
        assert!(check_header_name("X:Org").is_err());
        assert!(check_header_name("").is_err());
        assert!(check_header_value("a\r\nSet-Cookie: x").is_err());
        assert!(check_header_value("a\nb").is_err());
        assert!(check_header_value("tab\tok").is_ok());
        assert!(check_header_value(&"v".repeat(4097)).is_err());
    }

    #[test]
    fn each_auth_kind_validates_and_places_its_credentials() {
        type Pairs = Vec<(&'static str, &'static str)>;
        let expect: [(AuthKind, Pairs, Pairs); 5] = [
            (AuthKind::None, vec![], vec![]),
            // base64("svc@example.com:pw-secret")
            (
                AuthKind::Basic,
                vec![(
                    "Authorization",
                    "Basic c3ZjQGV4YW1wbGUuY29tOnB3LXNlY3JldA==",
                )],
                vec![],
            ),
            (
                AuthKind::Bearer,
                vec![("Authorization", "Bearer tok-secret")],
                vec![],
            ),
            (AuthKind::Header, vec![("X-Api-Key", "key-secret")], vec![]),
            (AuthKind::Query, vec![], vec![("apiKey", "key-secret")]),
        ];
        for (kind, headers, query) in expect {
            let valid = input(kind).validate(None).unwrap();
            assert_eq!(valid.settings.kind(), kind);
            assert_eq!(
                valid.plain_headers(),
                vec![("X-Organization-ID".to_owned(), "42".to_owned())]
            );
            assert_eq!(
                valid.base_url.as_str(),
                "https://example.atlassian.net/rest"
            );
            let auth = valid
                .settings
                .with_secret(valid.new_secret.clone())
                .unwrap();
            let creds = auth.credentials();
            let shown = |v: &Vec<(String, SecretString)>| {
                v.iter()
                    .map(|(k, s)| (k.clone(), s.expose_secret().to_owned()))
                    .collect::<Vec<_>>()
            };
            let owned = |v: Pairs| {
                v.into_iter()
                    .map(|(k, s)| (k.to_owned(), s.to_owned()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(shown(&creds.headers), owned(headers), "{kind:?}");
            assert_eq!(shown(&creds.query), owned(query), "{kind:?}");
        }
    }

    #[test]
    fn secrets_are_required_unless_kept() {
        let mut edit = input(AuthKind::Bearer);
        edit.auth.token = None;
        let errors = edit.validate(None).unwrap_err();
        assert_eq!(errors.get("auth.token"), Some("Enter the token."));
        let stored = |settings| Stored {
            settings,
            base_url: "https://example.atlassian.net/rest",
            secret_headers: &[],
        };
        // Same type stored: keeps the secret.
        let kept = edit.validate(Some(stored(&AuthSettings::Bearer))).unwrap();
        assert!(kept.new_secret.is_none());
        // Switching type discards the old secret: a new one is required.
        let basic = AuthSettings::Basic {
            username: "u".into(),
        };
        let errors = edit.validate(Some(stored(&basic))).unwrap_err();
        assert!(errors.get("auth.token").is_some());
    }

    #[test]
    fn a_stored_secret_never_follows_the_connector_elsewhere() {
        let stored_header = AuthSettings::Header {
            header_name: "X-Api-Key".into(),
        };
        let stored = Stored {
            settings: &stored_header,
            base_url: "https://example.atlassian.net/rest",
            secret_headers: &[],
        };
        let mut edit = input(AuthKind::Header);
        edit.auth.api_key = None;
        assert!(
            edit.validate(Some(stored)).unwrap().new_secret.is_none(),
            "same place: kept"
        );
        for (base_url, header) in [
            ("https://attacker.example/rest", "X-Api-Key"),
            ("http://example.atlassian.net/rest", "X-Api-Key"),
            ("https://example.atlassian.net:8443/rest", "X-Api-Key"),
            ("https://example.atlassian.net/rest", "X-Other"),
        ] {
            let mut moved = edit.clone();
            moved.base_url = base_url.into();
            moved.auth.header_name = Some(header.into());
            let errors = moved.validate(Some(stored)).unwrap_err();
            assert!(
                errors
                    .get("auth.api_key")
                    .unwrap()
                    .contains("Enter it again"),
                "{base_url} {header}: {errors:?}"
            );
        }
        // Another path on the same host keeps it.
        let mut path = edit.clone();
        path.base_url = "https://example.atlassian.net/rest/v3".into();
        assert!(path.validate(Some(stored)).is_ok());
    }

    #[test]
    fn credentials_and_framing_headers_are_refused_as_plain_headers() {
        for name in [
            "Authorization",
            "cookie",
            "X-Api-Key",
            "Proxy-Authorization",
            "Host",
            "Content-Length",
            "Transfer-Encoding",
        ] {
            let mut form = input(AuthKind::None);
            form.headers = vec![ConnectorHeader {
                key: name.into(),
                value: "x".into(),
                secret: false,
            }];
            let errors = form.validate(None).unwrap_err();
            assert!(errors.get("headers[0].key").is_some(), "{name}");
        }
    }

    #[test]
    fn header_rows_are_checked_one_by_one() {
        let mut form = input(AuthKind::Bearer);
        form.headers = vec![
            ConnectorHeader {
                key: "Authorization".into(),
                value: "x".into(),
                secret: false,
            },
            ConnectorHeader {
                key: "Bad Name".into(),
                value: "x".into(),
                secret: false,
            },
            ConnectorHeader {
                key: "X-Ok".into(),
                value: "line\r\nbreak".into(),
                secret: false,
            },
            ConnectorHeader {
                key: "".into(),
                value: "".into(),
                secret: false,
            },
            ConnectorHeader {
                key: "x-dup".into(),
                value: "1".into(),
                secret: false,
            },
            ConnectorHeader {
                key: "X-Dup".into(),
                value: "2".into(),
                secret: false,
            },
        ];
        let errors = form.validate(None).unwrap_err();
        assert!(
            errors
                .get("headers[0].key")
                .unwrap()
                .contains("set by the Bearer authentication")
        );
        assert!(
            errors
                .get("headers[1].key")
                .unwrap()
                .contains("not a valid header name")
        );
        assert!(
            errors
                .get("headers[2].value")
                .unwrap()
                .contains("line breaks")
        );
        assert!(
            errors.get("headers[3].key").is_none(),
            "empty rows are ignored"
        );
        assert!(errors.get("headers[5].key").unwrap().contains("twice"));
    }

    #[test]
    fn all_field_errors_come_at_once_and_oversized_values_are_refused() {
        let form = ConnectorInput {
            name: "x".repeat(101),
            enabled: true,
            base_url: "nope".into(),
            auth: AuthInput {
                kind: Some(AuthKind::Header),
                header_name: Some("Bad Header".into()),
                api_key: Some("k".repeat(MAX_SECRET_CHARS + 1)),
                ..AuthInput::default()
            },
            headers: vec![],
            updated_at: None,
        };
        let errors = form.validate(None).unwrap_err();
        for field in ["name", "base_url", "auth.header_name", "auth.api_key"] {
            assert!(errors.get(field).is_some(), "{field}: {errors}");
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let valid = input(AuthKind::Basic).validate(None).unwrap();
        let auth = valid
            .settings
            .with_secret(valid.new_secret.clone())
            .unwrap();
        let mut typed = input(AuthKind::Basic);
        typed.headers.push(secret_row("X-App-Key", "row-secret"));
        let with_row = typed.validate(None).unwrap();
        let shown = format!(
            "{valid:?} {auth:?} {:?} {typed:?} {with_row:?}",
            auth.credentials()
        );
        for secret in ["pw-secret", "tok-secret", "key-secret", "row-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("svc@example.com"),
            "non-secret fields stay readable"
        );
        assert!(
            !shown.contains("c3ZjQGV4YW1wbGUuY29tOnB3LXNlY3JldA"),
            "{shown}"
        );
    }

    fn secret_row(key: &str, value: &str) -> ConnectorHeader {
        ConnectorHeader {
            key: key.into(),
            value: value.into(),
            secret: true,
        }
    }

    #[test]
    fn secret_headers_are_encrypted_rows_and_plain_credentials_are_refused() {
        let mut form = input(AuthKind::Header);
        form.auth.header_name = Some("DD-API-KEY".into());
        form.headers = vec![
            secret_row("DD-APPLICATION-KEY", "app-secret"),
            ConnectorHeader {
                key: "X-Session-Token".into(),
                value: "plain".into(),
                secret: false,
            },
            ConnectorHeader {
                key: "Accept".into(),
                value: "application/json".into(),
                secret: false,
            },
        ];
        let errors = form.validate(None).unwrap_err();
        assert!(
            errors
                .get("headers[1].key")
                .unwrap()
                .contains("mark the header Secret"),
            "{errors}"
        );
        form.headers[1].secret = true;
        let valid = form.validate(None).unwrap();
        assert_eq!(
            valid.plain_headers(),
            vec![("Accept".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(
            valid.stored_rows(),
            vec![
                ("DD-APPLICATION-KEY".to_owned(), None),
                ("X-Session-Token".to_owned(), None),
                ("Accept".to_owned(), Some("application/json".to_owned())),
            ]
        );
        let headers = valid.secret_headers(&[]).unwrap();
        let shown: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        assert_eq!(
            shown,
            [
                ("DD-APPLICATION-KEY", "app-secret"),
                ("X-Session-Token", "plain")
            ]
        );

        // A secret row may carry a name a plain row may not (a custom Authorization scheme)…
        let mut custom = input(AuthKind::None);
        custom.headers = vec![secret_row("Authorization", "SSWS 00abc")];
        assert!(custom.validate(None).is_ok());
        // …but not one the authentication sets, a framing header, an empty or a broken value.
        let mut bad = input(AuthKind::Bearer);
        bad.headers = vec![
            secret_row("Authorization", "x"),
            secret_row("Host", "x"),
            secret_row("X-Empty", ""),
            secret_row("X-Break", "a\r\nInjected: 1"),
            secret_row("X-Padded", " x"),
            secret_row("X-Long", &"k".repeat(MAX_SECRET_CHARS + 1)),
            secret_row("X-Accented", "clé-secrète"),
        ];
        let errors = bad.validate(None).unwrap_err();
        assert!(errors.get("headers[0].key").unwrap().contains("Bearer"));
        assert!(
            errors
                .get("headers[1].key")
                .unwrap()
                .contains("HTTP client")
        );
        assert_eq!(
            errors.get("headers[2].value"),
            Some("Enter the value of X-Empty.")
        );
        assert!(
            errors
                .get("headers[3].value")
                .unwrap()
                .contains("line breaks")
        );
        assert!(errors.get("headers[4].value").unwrap().contains("space"));
        assert!(errors.get("headers[5].value").unwrap().contains("at most"));
        assert!(errors.get("headers[6].value").unwrap().contains("ASCII"));
        // The same holds for the credentials the authentication puts in a header.
        for (kind, field) in [
            (AuthKind::Bearer, "auth.token"),
            (AuthKind::Header, "auth.api_key"),
        ] {
            let mut accented = input(kind);
            accented.auth.token = Some("jeton-é".into());
            accented.auth.api_key = Some("clé".into());
            let errors = accented.validate(None).unwrap_err();
            assert!(errors.get(field).unwrap().contains("ASCII"), "{kind:?}");
        }
        let mut query = input(AuthKind::Query);
        query.auth.api_key = Some("clé".into());
        assert!(
            query.validate(None).is_ok(),
            "a query parameter is percent-encoded"
        );
    }

    #[test]
    fn a_stored_secret_header_is_kept_only_by_name_on_the_same_origin() {
        let settings = AuthSettings::None;
        let names = ["DD-Application-Key".to_owned()];
        let stored = Stored {
            settings: &settings,
            base_url: "https://example.atlassian.net/rest",
            secret_headers: &names,
        };
        let mut edit = input(AuthKind::None);
        edit.headers = vec![secret_row("dd-application-key", "")];
        let valid = edit.validate(Some(stored)).unwrap();
        assert!(matches!(valid.headers[0].1, RowValue::Secret(None)));
        let kept = valid
            .secret_headers(&[("DD-Application-Key".into(), "kept".into())])
            .unwrap();
        assert_eq!(kept[0].0, "dd-application-key");
        assert_eq!(kept[0].1.expose_secret(), "kept");
        assert_eq!(
            valid.secret_headers(&[]).unwrap_err(),
            "dd-application-key",
            "a kept value missing from the store is reported, not sent empty"
        );

        // Another origin: it must be typed again. Another name: it was never stored.
        let mut moved = edit.clone();
        moved.base_url = "https://attacker.example/rest".into();
        let errors = moved.validate(Some(stored)).unwrap_err();
        assert!(
            errors
                .get("headers[0].value")
                .unwrap()
                .contains("Enter it again")
        );
        let mut renamed = edit.clone();
        renamed.headers[0].key = "X-Other-Key".into();
        let errors = renamed.validate(Some(stored)).unwrap_err();
        assert_eq!(
            errors.get("headers[0].value"),
            Some("Enter the value of X-Other-Key.")
        );
        // Unticked and left empty (a form or an older API client that drops `secret`): refused,
        // not saved as an empty plain header. With a value typed, it is plain from then on.
        let mut plain = edit.clone();
        plain.headers[0].secret = false;
        let errors = plain.validate(Some(stored)).unwrap_err();
        assert!(
            errors
                .get("headers[0].value")
                .unwrap()
                .contains("tick Secret to keep its value"),
            "{errors}"
        );
        plain.headers[0].key = "X-Tenant".into();
        plain.headers[0].value = "acme".into();
        let valid = plain.validate(Some(stored)).unwrap();
        assert!(matches!(&valid.headers[0].1, RowValue::Plain(v) if v == "acme"));
        assert!(valid.secret_headers(&[]).unwrap().is_empty());
    }

    #[test]
    fn secrets_place_and_redact_the_secret_headers_too() {
        let secrets = Secrets {
            auth: Auth::Bearer {
                token: "tok/1".into(),
            },
            headers: vec![("X-App-Key".into(), "app key/é".into())],
        };
        let creds = secrets.credentials();
        let names: Vec<&str> = creds.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["Authorization", "X-App-Key"]);
        assert_eq!(creds.headers[1].1.expose_secret(), "app key/é");
        let forms: Vec<String> = secrets
            .redaction_forms()
            .iter()
            .map(|f| f.expose_secret().to_owned())
            .collect();
        for form in [
            "tok/1",
            "app key/é",
            "app%20key%2F%C3%A9",
            "app+key%2f%c3%a9",
            "app key\\/\\u00e9",
        ] {
            assert!(forms.iter().any(|f| f == form), "{form} in {forms:?}");
        }
        // A scheme around the credential: the credential alone is redacted too, if long enough.
        let schemes = Secrets {
            auth: Auth::None,
            headers: vec![
                ("Authorization".into(), "SSWS 00abcdefgh".into()),
                ("X-Rails".into(), "Token token=\"rails-tok-1\"".into()),
                ("X-Basic".into(), "Basic dXNlcjpwYXNzd29yZC0x".into()),
                ("X-Short".into(), "Key k=abc".into()),
            ],
        };
        let forms: Vec<String> = schemes
            .redaction_forms()
            .iter()
            .map(|f| f.expose_secret().to_owned())
            .collect();
        for part in ["00abcdefgh", "rails-tok-1", "user:password-1", "password-1"] {
            assert!(forms.iter().any(|f| f == part), "{part} in {forms:?}");
        }
        assert!(
            !forms.iter().any(|f| f == "abc"),
            "short parts are not redacted alone"
        );
        assert!(Secrets::none().redaction_forms().is_empty());
        assert!(Secrets::none().credentials().headers.is_empty());

        // The same for a Header API key, which may carry a scheme as a secret header does.
        let header_key = Auth::Header {
            header_name: "Authorization".into(),
            api_key: "SSWS 00abcdefgh".into(),
        };
        let forms: Vec<String> = header_key
            .redaction_forms()
            .iter()
            .map(|f| f.expose_secret().to_owned())
            .collect();
        for form in ["SSWS 00abcdefgh", "SSWS%2000abcdefgh", "00abcdefgh"] {
            assert!(forms.iter().any(|f| f == form), "{form} in {forms:?}");
        }
    }

    #[test]
    fn plain_credential_rows_are_sealed_in_place() {
        let rows = vec![
            ("X-Vault-Token".to_owned(), Some("hvs.legacy".to_owned())),
            ("Accept".to_owned(), Some("application/json".to_owned())),
            ("DD-APPLICATION-KEY".to_owned(), None),
            ("Idempotency-Key".to_owned(), Some("fixed".to_owned())),
            ("x-app-key".to_owned(), Some("k-2-long-enough".to_owned())),
        ];
        let secrets = vec![("DD-APPLICATION-KEY".to_owned(), SecretString::from("dd"))];
        let sealed = seal_plain_credentials(&rows, &secrets, &[]).unwrap();
        assert_eq!(
            sealed.rows,
            [
                ("X-Vault-Token".to_owned(), None),
                ("Accept".to_owned(), Some("application/json".to_owned())),
                ("DD-APPLICATION-KEY".to_owned(), None),
                ("Idempotency-Key".to_owned(), Some("fixed".to_owned())),
                ("x-app-key".to_owned(), None),
            ],
            "the order is kept"
        );
        assert_eq!(sealed.sealed, ["X-Vault-Token", "x-app-key"]);
        let values: Vec<(&str, &str)> = sealed
            .secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        assert_eq!(
            values,
            [
                ("DD-APPLICATION-KEY", "dd"),
                ("X-Vault-Token", "hvs.legacy"),
                ("x-app-key", "k-2-long-enough")
            ]
        );
        assert!(!format!("{sealed:?}").contains("hvs.legacy"));
        // Nothing to seal: left alone.
        assert!(seal_plain_credentials(&sealed.rows, &sealed.secrets, &[]).is_none());
        assert!(seal_plain_credentials(&[], &[], &[]).is_none());
        // Short values, and headers a step sets, stay plain.
        let rows = vec![
            ("X-Auth-Version".to_owned(), Some("2".to_owned())),
            ("X-Vault-Token".to_owned(), Some("hvs.legacy".to_owned())),
        ];
        assert!(seal_plain_credentials(&rows, &[], &["x-vault-token".to_owned()]).is_none());
        let sealed = seal_plain_credentials(&rows, &[], &[]).unwrap();
        assert_eq!(sealed.sealed, ["X-Vault-Token"]);
        assert_eq!(
            sealed.rows[0],
            ("X-Auth-Version".to_owned(), Some("2".to_owned()))
        );
    }

    #[test]
    fn api_bodies_use_the_documented_names() {
        let body = r#"{ "name": "Jira", "enabled": true, "base_url": "https://example.atlassian.net/rest",
            "auth": { "type": "basic", "username": "svc@example.com", "password": "p" },
            "headers": [ { "key": "X-Organization-ID", "value": "42" } ] }"#;
        let input: ConnectorInput = serde_json::from_str(body).unwrap();
        assert_eq!(input.auth.kind, Some(AuthKind::Basic));
        assert!(input.validate(None).is_ok());
        let minimal: ConnectorInput = serde_json::from_str(
            r#"{"name":"A","base_url":"https://a.example","auth":{"type":"none"}}"#,
        )
        .unwrap();
        assert!(minimal.enabled, "enabled by default");
        // A misspelt field is refused, not dropped.
        let typo = serde_json::from_str::<ConnectorInput>(
            r#"{"name":"A","base_url":"https://a.example","auth":{"Type":"bearer","token":"t"}}"#,
        )
        .unwrap_err();
        assert!(typo.to_string().contains("unknown field `Type`"), "{typo}");
    }

    #[test]
    fn the_authentication_type_is_left_out_only_when_nothing_else_is_said() {
        let input = |auth: &str| -> ConnectorInput {
            serde_json::from_str(&format!(
                r#"{{"name":"A","base_url":"https://a.example","auth":{auth}}}"#
            ))
            .unwrap()
        };
        // New, nothing said: no authentication.
        assert!(input("{}").validate(None).is_ok());
        // A token without its type.
        let errors = input(r#"{"token":"t"}"#).validate(None).unwrap_err();
        assert!(
            errors
                .get("auth.type")
                .is_some_and(|m| m.contains("one of none, basic"))
        );
    }
}
