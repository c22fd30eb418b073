//! The connector server functions: thin wrappers over the connector service, which the REST
//! routes share. Each path and its permission is listed in `auth::policy::SERVER_FN_ACCESS`.
//! Inputs travel as JSON: the form is built from signals (tabs, header rows), not a flat form.

use domain::connector::ConnectorInput;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::{ConnectionTest, ConnectorView};
use crate::auth::AppError;
use crate::workflows::WorkflowRef;
#[cfg(feature = "ssr")]
use {crate::auth::service::RequestCx, domain::Permission};

#[server(prefix = "/api", endpoint = "connectors/list")]
pub async fn list_connectors(search: Option<String>) -> Result<Vec<ConnectorView>, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    cx.connectors.list(caller, search.as_deref()).await
}

/// Whether a name is free, for the check as you type: `Some(message)` when it is taken.
#[server(prefix = "/api", endpoint = "connectors/name_taken")]
pub async fn connector_name_taken(
    name: String,
    except_id: Option<String>,
) -> Result<Option<String>, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.connectors
        .name_taken(caller, &name, except_id.as_deref())
        .await
}

/// Creates a connector (`id` empty) or updates one.
#[server(prefix = "/api", endpoint = "connectors/save", input = Json)]
pub async fn save_connector(
    id: Option<String>,
    input: ConnectorInput,
) -> Result<ConnectorView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    match id.filter(|id| !id.is_empty()) {
        None => cx.connectors.create(caller, input, &cx.ip).await,
        Some(id) => cx.connectors.update(caller, &id, input, &cx.ip).await,
    }
}

#[server(prefix = "/api", endpoint = "connectors/set_enabled")]
pub async fn set_connector_enabled(id: String, enabled: bool) -> Result<ConnectorView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.connectors
        .set_enabled(caller, &id, enabled, &cx.ip)
        .await
}

#[server(prefix = "/api", endpoint = "connectors/delete")]
pub async fn delete_connector(id: String) -> Result<(), AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.connectors.delete(caller, &id, &cx.ip).await
}

/// Tests the form as it stands (saved or not); `id` lets an edit use the stored secret.
#[server(prefix = "/api", endpoint = "connectors/test", input = Json)]
pub async fn test_connector(
    id: Option<String>,
    input: ConnectorInput,
    test_path: String,
) -> Result<ConnectionTest, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    let id = id.filter(|id| !id.is_empty());
    cx.connectors
        .test(caller, id.as_deref(), input, &test_path, &cx.ip)
        .await
}

/// The workflows that use a connector, for the delete confirmation.
#[server(prefix = "/api", endpoint = "connectors/usage")]
pub async fn connector_usage(id: String) -> Result<Vec<WorkflowRef>, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    cx.connectors.usage(caller, &id).await
}
