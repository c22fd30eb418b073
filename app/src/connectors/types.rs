//! What the browser and the REST API receive about a connector. There is no field that could
//! hold a secret: `has_secret` says whether one is stored, and a secret header's value is empty.

use domain::connector::{AuthSettings, ConnectorHeader};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorView {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub base_url: String,
    /// The authentication type and its non-secret settings (username, header or parameter name).
    pub auth: AuthSettings,
    pub has_secret: bool,
    /// A secret header is listed with its name and `secret: true`; its value is always empty.
    pub headers: Vec<ConnectorHeader>,
    /// How many workflows use it.
    pub used_by: u32,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ConnectorView {
    /// The names of its secret headers.
    pub fn secret_header_names(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|h| h.secret)
            .map(|h| h.key.clone())
            .collect()
    }

    /// Its plain headers, as planning takes them.
    pub fn plain_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|h| !h.secret)
            .map(|h| (h.key.clone(), h.value.clone()))
            .collect()
    }
}

/// The result of *Test connection*: what the upstream answered, or why nothing was answered.
/// Only the status is kept, never the body: an API may echo the credentials back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTest {
    /// `GET` and the URL tried, without credentials.
    pub request: String,
    pub status: Option<u16>,
    pub status_text: Option<String>,
    pub latency_ms: u64,
    /// True for a 2xx answer.
    pub ok: bool,
    /// What went wrong, in plain words (DNS, TLS, refused, timed out, blocked, or the status).
    pub reason: Option<String>,
}
