//! The workflow server functions: thin wrappers over the workflow service, which the REST routes
//! share. Each path and its permission is listed in `auth::policy::SERVER_FN_ACCESS`.

use domain::workflow::{TriggerKind, WorkflowInput};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::{WorkflowVersionView, WorkflowView};
use crate::auth::AppError;
#[cfg(feature = "ssr")]
use {crate::auth::service::RequestCx, domain::Permission};

#[server(prefix = "/api", endpoint = "workflows/list")]
pub async fn list_workflows(search: Option<String>) -> Result<Vec<WorkflowView>, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    cx.workflows.list(caller, search.as_deref()).await
}

#[server(prefix = "/api", endpoint = "workflows/get")]
pub async fn get_workflow(id: String) -> Result<WorkflowView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    cx.workflows.get(caller, &id).await
}

/// *New workflow*: a name, a description and the kind of trigger; the canvas opens next.
#[server(prefix = "/api", endpoint = "workflows/create")]
pub async fn create_workflow(
    name: String,
    description: String,
    kind: TriggerKind,
) -> Result<WorkflowView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    let input = WorkflowInput {
        name,
        description,
        enabled: true,
        trigger: kind.default_trigger(),
        steps: Vec::new(),
    };
    cx.workflows.create(caller, input, &cx.ip).await
}

/// *Save changes* on the canvas.
#[server(prefix = "/api", endpoint = "workflows/save", input = Json)]
pub async fn save_workflow(
    id: String,
    version: i64,
    input: WorkflowInput,
) -> Result<WorkflowView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.workflows
        .update(caller, &id, version, input, &cx.ip)
        .await
}

#[server(prefix = "/api", endpoint = "workflows/set_enabled")]
pub async fn set_workflow_enabled(id: String, enabled: bool) -> Result<WorkflowView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.workflows.set_enabled(caller, &id, enabled, &cx.ip).await
}

#[server(prefix = "/api", endpoint = "workflows/duplicate")]
pub async fn duplicate_workflow(id: String) -> Result<WorkflowView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.workflows.duplicate(caller, &id, &cx.ip).await
}

#[server(prefix = "/api", endpoint = "workflows/delete")]
pub async fn delete_workflow(id: String) -> Result<(), AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.workflows.delete(caller, &id, &cx.ip).await
}

#[server(prefix = "/api", endpoint = "workflows/versions")]
pub async fn workflow_versions(id: String) -> Result<Vec<WorkflowVersionView>, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    cx.workflows.versions(caller, &id).await
}

/// `open`: the version the canvas has open, so a restore cannot silently replace a save made
/// since by someone else.
#[server(prefix = "/api", endpoint = "workflows/restore")]
pub async fn restore_workflow(
    id: String,
    version: i64,
    open: Option<i64>,
) -> Result<WorkflowView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.workflows
        .restore(caller, &id, version, open, &cx.ip)
        .await
}

/// The next five times a cron expression fires in a time zone.
#[server(prefix = "/api", endpoint = "workflows/schedule_preview")]
pub async fn schedule_preview(cron: String, timezone: String) -> Result<Vec<String>, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    cx.workflows
        .schedule_preview(caller, &cron, &timezone)
        .await
}
