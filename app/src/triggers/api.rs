//! The webhook server functions: thin wrappers over the trigger service. Each path and its
//! permission is listed in `auth::policy::SERVER_FN_ACCESS`.

use leptos::prelude::*;

use super::WebhookView;
use crate::auth::AppError;
#[cfg(feature = "ssr")]
use {crate::auth::service::RequestCx, domain::Permission};

#[server(prefix = "/api", endpoint = "webhooks/get")]
pub async fn get_webhook(workflow_id: String) -> Result<WebhookView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.triggers.webhook(caller, &workflow_id).await
}

#[server(prefix = "/api", endpoint = "webhooks/regenerate")]
pub async fn regenerate_webhook(workflow_id: String) -> Result<WebhookView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    cx.triggers
        .regenerate_webhook(caller, &workflow_id, &cx.ip)
        .await
}

/// Sets the signing secret; an empty `secret` removes it.
#[server(prefix = "/api", endpoint = "webhooks/set_secret")]
pub async fn set_webhook_secret(
    workflow_id: String,
    secret: String,
) -> Result<WebhookView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAutomation)?;
    let secret = Some(secret).filter(|s| !s.is_empty());
    cx.triggers
        .set_webhook_secret(caller, &workflow_id, secret, &cx.ip)
        .await
}
