//! Workflows: a trigger and the steps it starts, edited on the canvas.

mod api;
#[cfg(feature = "ssr")]
pub mod service;
mod types;
mod workflows_page;

pub use api::*;
pub use types::{WorkflowRef, WorkflowVersionView, WorkflowView};
pub use workflows_page::WorkflowsPage;
