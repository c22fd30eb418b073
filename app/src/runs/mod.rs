//! Runs: each execution of a workflow, its steps' requests and responses.

mod api;
mod run_page;
mod runs_page;
#[cfg(feature = "ssr")]
pub mod service;
mod types;

pub use api::*;
pub use run_page::{RequestView, ResponseView, RunPage};
pub use runs_page::{RunsPage, StatusBadge};
pub use types::{RunQuery, RunStepView, RunSummary, RunView, StepTest, StepTestResult};
