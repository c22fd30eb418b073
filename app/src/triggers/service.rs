//! The trigger service as server functions see it; `server/` implements it.

use async_trait::async_trait;
use domain::Caller;

use super::WebhookView;
use crate::auth::AppError;

#[async_trait]
pub trait TriggerService: Send + Sync + 'static {
    /// The workflow's webhook URL, made on first view. Administrators only: the URL starts runs.
    async fn webhook(&self, caller: &Caller, workflow_id: &str) -> Result<WebhookView, AppError>;
    /// A new URL; the old one stops working at once.
    async fn regenerate_webhook(
        &self,
        caller: &Caller,
        workflow_id: &str,
        ip: &str,
    ) -> Result<WebhookView, AppError>;
    /// Sets the signing secret, or with `None` removes it (calls need no signature then).
    async fn set_webhook_secret(
        &self,
        caller: &Caller,
        workflow_id: &str,
        secret: Option<String>,
        ip: &str,
    ) -> Result<WebhookView, AppError>;
}
