//! What the trigger panes need from the server beyond the workflow itself: a webhook's URL and
//! signing secret. (Webhook calls, events and schedules are received by the server directly.)

mod api;
#[cfg(feature = "ssr")]
pub mod service;
mod types;

pub use api::*;
pub use types::WebhookView;
