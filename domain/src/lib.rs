//! Switchboard's pure core, shared by the server and the browser.
//!
//! Nothing here does I/O or depends on Leptos, sqlx or tokio: the same code validates a form in the
//! browser and enforces it on the server, and its tests run in seconds.

pub mod email;
pub mod role;

pub use email::{EmailAddress, EmailError};
pub use role::{Permission, Role, RoleParseError};
