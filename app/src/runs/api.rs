//! The run server functions: thin wrappers over the run service, which the REST routes share.
//! Each path and its permission is listed in `auth::policy::SERVER_FN_ACCESS`.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::{RunQuery, RunSummary, RunView, StepTest, StepTestResult};
use crate::auth::AppError;
#[cfg(feature = "ssr")]
use {crate::auth::service::RequestCx, domain::Permission};

/// *Run*: queues a run with the input typed (JSON text; empty means the sample input).
#[server(prefix = "/api", endpoint = "runs/start")]
pub async fn start_run(workflow_id: String, input: String) -> Result<RunSummary, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::RunWorkflows)?;
    domain::decode::check_exact_integers(&input, "The input")
        .map_err(|message| AppError::invalid("input", message))?;
    let input = if input.trim().is_empty() {
        None
    } else {
        Some(serde_json::from_str(&input).map_err(|e| {
            AppError::invalid(
                "input",
                format!(
                    "The input is not valid JSON: {e}. Fix it, or clear it to use the sample input."
                ),
            )
        })?)
    };
    cx.runs.start(caller, &workflow_id, input, &cx.ip).await
}

#[server(prefix = "/api", endpoint = "runs/list", input = Json)]
pub async fn list_runs(query: RunQuery) -> Result<Vec<RunSummary>, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    cx.runs.list(caller, &query).await
}

#[server(prefix = "/api", endpoint = "runs/get")]
pub async fn get_run(id: String) -> Result<RunView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    cx.runs.get(caller, &id).await
}

/// *Test this step*: sends the step's real request once, with the trigger's sample input.
#[server(prefix = "/api", endpoint = "runs/test_step", input = Json)]
pub async fn test_step(test: StepTest) -> Result<StepTestResult, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::RunWorkflows)?;
    cx.runs.test_step(caller, test, &cx.ip).await
}
