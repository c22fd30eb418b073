use serde::{Deserialize, Serialize};

/// A webhook workflow's URL, as its trigger pane shows it. The signing secret is write-only:
/// only whether one is set comes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    /// `/hooks/<token>`; the pane puts the server's public address in front.
    pub path: String,
    /// The configured `--public-url`, when there is one; otherwise the page's own origin is used.
    pub public_url: Option<String>,
    pub has_secret: bool,
    /// When the URL was made or last regenerated (epoch ms).
    pub rotated_at: i64,
}
