//! The server side of access control, as the server functions see it. `server/` implements
//! `AccessService`; the server functions only unpack the request and call it, so a REST route
//! and a server function share one implementation.

use std::sync::Arc;

use async_trait::async_trait;
use domain::{Caller, Permission, Role};
use leptos::prelude::*;

use super::{
    AccountView, ApiKeyView, AppError, AuditPage, CreatedApiKey, CurrentUser, SessionInfo,
};

/// The client address of a request, put in the request's extensions by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

/// A successful sign-in: who, and the `Set-Cookie` value that carries the new session.
pub struct SignedIn {
    pub user: CurrentUser,
    pub set_cookie: String,
}

/// An account to create, as typed into a form. The service validates it.
pub struct AccountInput {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    /// The "password again" field, where the form has one.
    pub password_again: Option<String>,
}

#[async_trait]
pub trait AccessService: Send + Sync + 'static {
    async fn session_info(&self, caller: Option<&Caller>) -> Result<SessionInfo, AppError>;
    async fn setup_first_admin(&self, input: AccountInput, ip: &str) -> Result<SignedIn, AppError>;
    async fn sign_in(&self, email: &str, password: &str, ip: &str) -> Result<SignedIn, AppError>;
    /// Ends the caller's session; returns the `Set-Cookie` value that clears the cookie.
    async fn sign_out(&self, caller: &Caller, ip: &str) -> Result<String, AppError>;
    /// Changes the caller's own password after checking the current one. Every session of the
    /// account ends; the returned sign-in carries a fresh session for this browser.
    async fn change_own_password(
        &self,
        caller: &Caller,
        current: &str,
        new: &str,
        new_again: &str,
        ip: &str,
    ) -> Result<SignedIn, AppError>;
    async fn list_accounts(&self, caller: &Caller) -> Result<Vec<AccountView>, AppError>;
    async fn create_account(
        &self,
        caller: &Caller,
        input: AccountInput,
        ip: &str,
    ) -> Result<AccountView, AppError>;
    /// `shown`: the role and status as the caller's page showed them; a change made since is
    /// refused (409) rather than undone.
    async fn update_account(
        &self,
        caller: &Caller,
        id: &str,
        role: Role,
        disabled: bool,
        shown: Option<(Role, bool)>,
        ip: &str,
    ) -> Result<AccountView, AppError>;
    async fn reset_password(
        &self,
        caller: &Caller,
        id: &str,
        password: &str,
        ip: &str,
    ) -> Result<(), AppError>;
    async fn list_api_keys(&self, caller: &Caller) -> Result<Vec<ApiKeyView>, AppError>;
    async fn create_api_key(
        &self,
        caller: &Caller,
        name: &str,
        role: Role,
        expires_in_days: Option<u32>,
        ip: &str,
    ) -> Result<CreatedApiKey, AppError>;
    async fn revoke_api_key(
        &self,
        caller: &Caller,
        prefix: &str,
        ip: &str,
    ) -> Result<ApiKeyView, AppError>;
    async fn list_audit(
        &self,
        caller: &Caller,
        actor: Option<String>,
        action: Option<String>,
        before_id: Option<i64>,
    ) -> Result<AuditPage, AppError>;
}

/// The services the server provides to server functions through Leptos context.
#[derive(Clone)]
pub struct Services {
    pub access: Arc<dyn AccessService>,
    pub connectors: Arc<dyn crate::connectors::service::ConnectorService>,
    pub workflows: Arc<dyn crate::workflows::service::WorkflowService>,
    pub runs: Arc<dyn crate::runs::service::RunService>,
    pub triggers: Arc<dyn crate::triggers::service::TriggerService>,
}

/// What a server function needs from its request.
pub struct RequestCx {
    pub access: Arc<dyn AccessService>,
    pub connectors: Arc<dyn crate::connectors::service::ConnectorService>,
    pub workflows: Arc<dyn crate::workflows::service::WorkflowService>,
    pub runs: Arc<dyn crate::runs::service::RunService>,
    pub triggers: Arc<dyn crate::triggers::service::TriggerService>,
    pub caller: Option<Caller>,
    pub ip: String,
}

impl RequestCx {
    pub fn get() -> Result<RequestCx, AppError> {
        let services = use_context::<Services>().ok_or(AppError::Internal)?;
        let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
        Ok(RequestCx {
            access: services.access,
            connectors: services.connectors,
            workflows: services.workflows,
            runs: services.runs,
            triggers: services.triggers,
            caller: parts.extensions.get::<Caller>().cloned(),
            ip: parts
                .extensions
                .get::<ClientIp>()
                .map(|ip| ip.0.clone())
                .unwrap_or_else(|| "unknown".to_owned()),
        })
    }

    /// The caller, if their role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<&Caller, AppError> {
        require(self.caller.as_ref(), permission)
    }

    pub fn set_cookie(&self, value: &str) {
        if let (Some(response), Ok(value)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::HeaderValue::from_str(value),
        ) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }
}

/// The one role check: 401 without a caller, 403 when the role lacks the permission.
pub fn require(caller: Option<&Caller>, permission: Permission) -> Result<&Caller, AppError> {
    let caller = caller.ok_or(AppError::Unauthenticated)?;
    if caller.allows(permission) {
        Ok(caller)
    } else if caller.key_refused(permission) {
        Err(AppError::Forbidden {
            message: "API keys cannot manage accounts or API keys: sign in as an Administrator \
                      With Billing to do this."
                .into(),
        })
    } else {
        Err(AppError::forbidden_for(caller.role))
    }
}
