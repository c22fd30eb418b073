//! Who is making a request, as the server resolved it from a session cookie or an API key.

use crate::{Permission, Role};

/// The authenticated caller of one request. Built only by the server; never serialised, so the
/// session hash it may carry cannot reach a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// What the audit log shows: the account's email, or `api key <prefix>`.
    pub actor: String,
    pub role: Role,
    pub via: CallerVia,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerVia {
    /// A browser session of this account; `session_hash` identifies the session to end on sign-out.
    Session {
        account_id: String,
        session_hash: String,
    },
    /// An API key, identified by its prefix.
    ApiKey { prefix: String },
}

impl Caller {
    pub fn allows(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }

    pub fn account_id(&self) -> Option<&str> {
        match &self.via {
            CallerVia::Session { account_id, .. } => Some(account_id),
            CallerVia::ApiKey { .. } => None,
        }
    }
}
