//! The run service as server functions and REST routes see it; `server/` implements it.

use async_trait::async_trait;
use domain::Caller;

use super::{RunQuery, RunSummary, RunView, StepTest, StepTestResult};
use crate::auth::AppError;

#[async_trait]
pub trait RunService: Send + Sync + 'static {
    /// Queues a run of a workflow with `input` (the trigger's sample input when `None`); the
    /// run is stored before this returns.
    async fn start(
        &self,
        caller: &Caller,
        workflow_id: &str,
        input: Option<serde_json::Value>,
        ip: &str,
    ) -> Result<RunSummary, AppError>;
    async fn list(&self, caller: &Caller, query: &RunQuery) -> Result<Vec<RunSummary>, AppError>;
    async fn get(&self, caller: &Caller, id: &str) -> Result<RunView, AppError>;
    /// Sends one step's request with the trigger's sample input.
    async fn test_step(
        &self,
        caller: &Caller,
        test: StepTest,
        ip: &str,
    ) -> Result<StepTestResult, AppError>;
}
