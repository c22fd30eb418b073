//! What the browser and the REST API receive about runs. Requests and responses are already
//! masked and redacted when stored: nothing here can hold a secret.

use domain::plan::{ShownRequest, ShownResponse};
use domain::workflow::{Step, Trigger};
use serde::{Deserialize, Serialize};

/// A run as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: String,
    pub workflow_id: String,
    pub workflow_name: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    pub trigger_type: String,
    pub started_by: String,
    pub error: Option<String>,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A run with its input and every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub id: String,
    pub workflow_id: String,
    pub workflow_name: String,
    pub workflow_version: i64,
    pub status: String,
    pub trigger_type: String,
    pub started_by: String,
    pub error: Option<String>,
    pub input: serde_json::Value,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// A worker stopped while running it and another resumed it.
    pub resumed: bool,
    pub steps: Vec<RunStepView>,
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStepView {
    pub key: String,
    pub name: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub request: Option<ShownRequest>,
    pub response: Option<ShownResponse>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub duration_ms: Option<i64>,
}

/// Which runs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunQuery {
    pub workflow_id: Option<String>,
    pub status: Option<String>,
    /// Queued at or after (epoch ms).
    pub since: Option<i64>,
    /// Queued before (epoch ms): the next page.
    pub before: Option<i64>,
    /// With `before`, the id of the last run of the page before: the next page starts right
    /// after it, even inside the same millisecond.
    pub before_id: Option<String>,
    /// Queued within this many hours of now (the server's clock).
    pub within_hours: Option<i64>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<i64>,
}

/// *Test this step*: the step as it is on the canvas (saved or not) and the trigger whose
/// sample input it uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepTest {
    pub workflow_id: Option<String>,
    pub workflow_name: String,
    pub trigger: Trigger,
    pub step: Step,
}

/// What *Test this step* sent and got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTestResult {
    pub request: Option<ShownRequest>,
    pub response: Option<ShownResponse>,
    /// Why it failed: the request could not be built or sent, or the answer was not 2xx.
    pub error: Option<String>,
    pub duration_ms: u64,
}
