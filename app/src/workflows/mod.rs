//! Workflows: a trigger and the steps it starts, edited on the canvas.

mod api;
mod canvas;
mod canvas_page;
mod history_pane;
mod run_pane;
#[cfg(feature = "ssr")]
pub mod service;
mod step_pane;
mod trigger_pane;
mod types;
mod workflows_page;

pub use api::*;
pub use canvas::Canvas;
pub use canvas_page::WorkflowCanvasPage;
pub use history_pane::HistoryPane;
pub use run_pane::RunPane;
pub use step_pane::StepPane;
pub use trigger_pane::TriggerPane;
pub use types::{WorkflowRef, WorkflowVersionView, WorkflowView};
pub use workflows_page::WorkflowsPage;
