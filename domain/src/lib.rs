//! Switchboard's pure core, shared by the server and the browser.
//!
//! Nothing here does I/O or depends on Leptos, sqlx or tokio: the same code validates a form in the
//! browser and enforces it on the server, and its tests run in seconds.

pub mod api_key;
pub mod caller;
pub mod connector;
pub mod cron;
pub mod csv;
pub mod decode;
pub mod egress;
pub mod email;
pub mod endpoint;
pub mod filter;
pub mod password;
pub mod plan;
pub mod render;
pub mod retry;
pub mod role;
pub mod session;
pub mod template;
pub mod time;
pub mod viewport;
pub mod workflow;

pub use api_key::{ApiKey, parse_api_key_prefix};
pub use caller::{Caller, CallerVia};
pub use csv::csv_record;
pub use email::{EmailAddress, EmailError};
pub use password::{NewPassword, PasswordError, PersonName, PersonNameError};
pub use role::{Permission, Role, RoleParseError};
pub use time::format_utc;
