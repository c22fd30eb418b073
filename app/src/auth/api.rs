//! The access server functions. Each one's path and required permission is listed in
//! `policy::SERVER_FN_ACCESS`, which the server's gate enforces before the body runs; the bodies
//! check again, so a missing gate would still not open anything.

use domain::Role;
use leptos::prelude::*;

use super::{
    AccountView, ApiKeyView, AppError, AuditPage, CreatedApiKey, CurrentUser, SessionInfo,
};
#[cfg(feature = "ssr")]
use {
    super::service::{AccountInput, RequestCx},
    domain::Permission,
};

#[server(prefix = "/api", endpoint = "session")]
pub async fn get_session() -> Result<SessionInfo, AppError> {
    let cx = RequestCx::get()?;
    cx.access.session_info(cx.caller.as_ref()).await
}

#[server(prefix = "/api", endpoint = "setup")]
pub async fn setup_first_admin(
    email: String,
    name: String,
    password: String,
    password_again: String,
) -> Result<CurrentUser, AppError> {
    let cx = RequestCx::get()?;
    let input = AccountInput {
        email,
        name,
        role: Role::AdministratorWithBilling,
        password,
        password_again: Some(password_again),
    };
    let signed_in = cx.access.setup_first_admin(input, &cx.ip).await?;
    cx.set_cookie(&signed_in.set_cookie);
    Ok(signed_in.user)
}

#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<CurrentUser, AppError> {
    let cx = RequestCx::get()?;
    let signed_in = cx.access.sign_in(&email, &password, &cx.ip).await?;
    cx.set_cookie(&signed_in.set_cookie);
    Ok(signed_in.user)
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    let clear = cx.access.sign_out(caller, &cx.ip).await?;
    cx.set_cookie(&clear);
    Ok(())
}

/// Any signed-in person may change their own password.
#[server(prefix = "/api", endpoint = "account/change_password")]
pub async fn change_own_password(
    current_password: String,
    new_password: String,
    new_password_again: String,
) -> Result<(), AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    let signed_in = cx
        .access
        .change_own_password(
            caller,
            &current_password,
            &new_password,
            &new_password_again,
            &cx.ip,
        )
        .await?;
    cx.set_cookie(&signed_in.set_cookie);
    Ok(())
}

#[server(prefix = "/api", endpoint = "accounts/list")]
pub async fn list_accounts() -> Result<Vec<AccountView>, AppError> {
    let cx = RequestCx::get()?;
    cx.access
        .list_accounts(cx.require(Permission::ManageAccess)?)
        .await
}

#[server(prefix = "/api", endpoint = "accounts/create")]
pub async fn create_account(
    email: String,
    name: String,
    role: Role,
    password: String,
) -> Result<AccountView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAccess)?;
    let input = AccountInput {
        email,
        name,
        role,
        password,
        password_again: None,
    };
    cx.access.create_account(caller, input, &cx.ip).await
}

#[server(prefix = "/api", endpoint = "accounts/update")]
pub async fn update_account(
    id: String,
    role: Role,
    disabled: bool,
    // The role and status the page showed; left out, the change is not checked against them.
    #[server(default)] shown_role: Option<Role>,
    #[server(default)] shown_disabled: Option<bool>,
) -> Result<AccountView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAccess)?;
    let shown = shown_role.zip(shown_disabled);
    cx.access
        .update_account(caller, &id, role, disabled, shown, &cx.ip)
        .await
}

#[server(prefix = "/api", endpoint = "accounts/reset_password")]
pub async fn reset_password(id: String, password: String) -> Result<(), AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAccess)?;
    cx.access
        .reset_password(caller, &id, &password, &cx.ip)
        .await
}

#[server(prefix = "/api", endpoint = "api_keys/list")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    let cx = RequestCx::get()?;
    cx.access
        .list_api_keys(cx.require(Permission::ManageAccess)?)
        .await
}

#[server(prefix = "/api", endpoint = "api_keys/create")]
pub async fn create_api_key(
    name: String,
    role: Role,
    expires_in_days: Option<String>,
) -> Result<CreatedApiKey, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAccess)?;
    // A form sends an empty field for "never expires".
    let expires_in_days = match expires_in_days.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(days) => Some(days.parse::<u32>().map_err(|_| {
            AppError::invalid(
                "expires_in_days",
                "Expiry is a whole number of days, or empty for a key that does not expire.",
            )
        })?),
    };
    cx.access
        .create_api_key(caller, &name, role, expires_in_days, &cx.ip)
        .await
}

#[server(prefix = "/api", endpoint = "api_keys/revoke")]
pub async fn revoke_api_key(prefix: String) -> Result<ApiKeyView, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::ManageAccess)?;
    cx.access.revoke_api_key(caller, &prefix, &cx.ip).await
}

#[server(prefix = "/api", endpoint = "audit/list")]
pub async fn list_audit(
    actor: Option<String>,
    action: Option<String>,
    before_id: Option<i64>,
) -> Result<AuditPage, AppError> {
    let cx = RequestCx::get()?;
    let caller = cx.require(Permission::Read)?;
    cx.access.list_audit(caller, actor, action, before_id).await
}
