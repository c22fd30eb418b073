//! What the browser and the REST API receive about workflows.

use domain::workflow::{Step, Trigger, TriggerKind};
use serde::{Deserialize, Serialize};

/// A workflow as stored: the model the canvas edits, plus its identity and version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub trigger: Trigger,
    pub steps: Vec<Step>,
    /// Bumped by each save; a save names the version it edits.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
}

impl WorkflowView {
    pub fn trigger_kind(&self) -> TriggerKind {
        self.trigger.kind()
    }
}

/// One saved version, for *History*.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowVersionView {
    pub version: i64,
    pub name: String,
    pub enabled: bool,
    pub steps: usize,
    pub saved_by: String,
    pub saved_at: i64,
}

/// A workflow named where another record refers to it (e.g. the users of a connector).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRef {
    pub id: String,
    pub name: String,
}
