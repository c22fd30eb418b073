//! Accounts, sessions, API keys and the audit log: the types the browser sees, the access policy
//! the server enforces, and the server functions.

mod api;
mod error;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod service;
mod state;
mod types;

pub use api::*;
pub use error::AppError;
pub use state::{AuthState, use_auth};
pub use types::{
    AccountView, ApiKeyView, AuditEntryView, AuditPage, CreatedApiKey, CurrentUser, SessionInfo,
};
