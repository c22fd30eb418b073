//! The workflow service as server functions and REST routes see it; `server/` implements it.

use async_trait::async_trait;
use domain::Caller;
use domain::workflow::WorkflowInput;

use super::{WorkflowVersionView, WorkflowView};
use crate::auth::AppError;

#[async_trait]
pub trait WorkflowService: Send + Sync + 'static {
    async fn list(
        &self,
        caller: &Caller,
        search: Option<&str>,
    ) -> Result<Vec<WorkflowView>, AppError>;
    async fn get(&self, caller: &Caller, id: &str) -> Result<WorkflowView, AppError>;
    async fn create(
        &self,
        caller: &Caller,
        input: WorkflowInput,
        ip: &str,
    ) -> Result<WorkflowView, AppError>;
    /// Saves over `version`; a conflict when someone saved since.
    async fn update(
        &self,
        caller: &Caller,
        id: &str,
        version: i64,
        input: WorkflowInput,
        ip: &str,
    ) -> Result<WorkflowView, AppError>;
    async fn set_enabled(
        &self,
        caller: &Caller,
        id: &str,
        enabled: bool,
        ip: &str,
    ) -> Result<WorkflowView, AppError>;
    async fn duplicate(
        &self,
        caller: &Caller,
        id: &str,
        ip: &str,
    ) -> Result<WorkflowView, AppError>;
    async fn delete(&self, caller: &Caller, id: &str, ip: &str) -> Result<(), AppError>;
    async fn versions(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Vec<WorkflowVersionView>, AppError>;
    /// Saves an old version's content as the newest version, over version `open` (the one the
    /// caller has open; a save made since is a conflict) or, without it, over the newest.
    async fn restore(
        &self,
        caller: &Caller,
        id: &str,
        version: i64,
        open: Option<i64>,
        ip: &str,
    ) -> Result<WorkflowView, AppError>;
    /// The next five times a schedule fires, for the trigger pane.
    async fn schedule_preview(
        &self,
        caller: &Caller,
        cron: &str,
        timezone: &str,
    ) -> Result<Vec<String>, AppError>;
}
