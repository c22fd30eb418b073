//! The connector service as server functions and REST routes see it; `server/` implements it.

use async_trait::async_trait;
use domain::Caller;
use domain::connector::ConnectorInput;

use super::{ConnectionTest, ConnectorView};
use crate::auth::AppError;
use crate::workflows::WorkflowRef;

#[async_trait]
pub trait ConnectorService: Send + Sync + 'static {
    async fn list(
        &self,
        caller: &Caller,
        search: Option<&str>,
    ) -> Result<Vec<ConnectorView>, AppError>;
    async fn get(&self, caller: &Caller, id: &str) -> Result<ConnectorView, AppError>;
    async fn create(
        &self,
        caller: &Caller,
        input: ConnectorInput,
        ip: &str,
    ) -> Result<ConnectorView, AppError>;
    /// An empty secret field keeps the stored secret when the authentication type is unchanged.
    async fn update(
        &self,
        caller: &Caller,
        id: &str,
        input: ConnectorInput,
        ip: &str,
    ) -> Result<ConnectorView, AppError>;
    async fn set_enabled(
        &self,
        caller: &Caller,
        id: &str,
        enabled: bool,
        ip: &str,
    ) -> Result<ConnectorView, AppError>;
    /// Refused while a workflow uses the connector; the error names them.
    async fn delete(&self, caller: &Caller, id: &str, ip: &str) -> Result<(), AppError>;
    /// The workflows that use the connector.
    async fn usage(&self, caller: &Caller, id: &str) -> Result<Vec<WorkflowRef>, AppError>;
    /// `Some(message)` when another connector (not `except_id`) has this name.
    async fn name_taken(
        &self,
        caller: &Caller,
        name: &str,
        except_id: Option<&str>,
    ) -> Result<Option<String>, AppError>;
    /// Sends a GET with the form's settings; an edit (`id`) may use the stored secret.
    async fn test(
        &self,
        caller: &Caller,
        id: Option<&str>,
        input: ConnectorInput,
        test_path: &str,
        ip: &str,
    ) -> Result<ConnectionTest, AppError>;
}
