//! Accounts, sessions and API keys: the server's `AccessService`, and the resolution of a
//! request's caller from its session cookie or `x-api-key` header.

pub mod secrets;

use app::auth::service::{AccessService, AccountInput, SignedIn, require};
use app::auth::{
    AccountView, ApiKeyView, AppError, AuditEntryView, AuditPage, CreatedApiKey, CurrentUser,
    SessionInfo,
};
use async_trait::async_trait;
use domain::session::{session_needs_touch, sign_in_wait_ms};
use domain::{
    ApiKey, Caller, CallerVia, EmailAddress, NewPassword, Permission, PersonName, Role,
    parse_api_key_prefix,
};
use serde_json::json;

use crate::storage::{
    AccessChange, Account, ApiKeyRecord, AuditEntry, AuditFilter, NewAccount, NewApiKey,
    NewAuditEntry, Store, StoreError, now_ms,
};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sb_session";
const AUDIT_PAGE_SIZE: u32 = 50;
const WRONG_CREDENTIALS: &str = "The email or password is incorrect.";
/// The audit target of a failed sign-in whose email box held something else.
const NOT_AN_EMAIL: &str = "(not an email address)";

#[derive(Clone)]
pub struct Access {
    store: Store,
    /// Mark cookies `Secure`: the public URL is https.
    secure_cookies: bool,
    /// Verified against when the email is unknown, so that a wrong email costs as much time as a
    /// wrong password.
    dummy_hash: String,
}

impl Access {
    pub fn new(store: Store, secure_cookies: bool) -> Access {
        let dummy_hash = secrets::hash_password("switchboard timing equaliser")
            .expect("hashing a constant password works");
        Access {
            store,
            secure_cookies,
            dummy_hash,
        }
    }

    /// Who is calling: an API key in `x-api-key` wins over a session cookie. Invalid, expired and
    /// revoked credentials give `None`, as if none were sent.
    pub async fn resolve_caller(
        &self,
        session_id: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Option<Caller>, StoreError> {
        let now = now_ms();
        if let Some(raw) = api_key {
            let Some(key) = ApiKey::parse(raw) else {
                return Ok(None);
            };
            let record = self
                .store
                .use_api_key(&secrets::sha256_hex(key.expose()), now)
                .await?;
            return Ok(record.map(|r| Caller {
                actor: format!("api key {}", r.prefix),
                role: r.role,
                via: CallerVia::ApiKey { prefix: r.prefix },
            }));
        }
        let Some(id) = session_id.filter(|id| id.len() == 64) else {
            return Ok(None);
        };
        let hash = secrets::sha256_hex(id);
        let Some(session) = self.store.live_session(&hash, now).await? else {
            return Ok(None);
        };
        let Some(account) = self.store.account_by_id(&session.account_id).await? else {
            return Ok(None);
        };
        if session_needs_touch(session.last_seen_at, now) {
            self.store.touch_session(&hash, now).await?;
        }
        Ok(Some(Caller {
            actor: account.email.as_str().to_owned(),
            role: account.role,
            via: CallerVia::Session {
                account_id: account.id,
                session_hash: hash,
            },
        }))
    }

    fn session_cookie(&self, id: &str) -> String {
        let max_age = domain::session::SESSION_ABSOLUTE_TIMEOUT_MS / 1000;
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
    }

    fn clear_cookie(&self) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    }

    async fn start_session(&self, account: &Account) -> Result<SignedIn, AppError> {
        let id = secrets::new_session_id();
        self.store
            .insert_session(&secrets::sha256_hex(&id), &account.id)
            .await
            .map_err(internal)?;
        Ok(SignedIn {
            user: current_user(account),
            set_cookie: self.session_cookie(&id),
        })
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        detail: serde_json::Value,
        ip: &str,
    ) -> Result<(), AppError> {
        self.store
            .append_audit(&NewAuditEntry {
                actor: actor.to_owned(),
                action: action.to_owned(),
                target: target.map(str::to_owned),
                detail: Some(detail),
                ip: Some(ip.to_owned()),
            })
            .await
            .map(|_| ())
            .map_err(internal)
    }

    /// Validates a form and hashes its password, off the async threads.
    async fn new_account(input: AccountInput) -> Result<NewAccount, AppError> {
        let email = EmailAddress::parse(&input.email).map_err(|e| AppError::invalid("email", e))?;
        let name = PersonName::parse(&input.name).map_err(|e| AppError::invalid("name", e))?;
        let password = match &input.password_again {
            Some(again) => NewPassword::parse_confirmed(&input.password, again),
            None => NewPassword::parse(&input.password),
        }
        .map_err(|e| AppError::invalid("password", e))?;
        let password_hash = hash_blocking(password).await?;
        Ok(NewAccount {
            email,
            name: name.as_str().to_owned(),
            role: input.role,
            password_hash,
        })
    }

    /// Creates an account from the command line (no caller, no session).
    pub async fn create_account_from_cli(
        &self,
        input: AccountInput,
    ) -> Result<AccountView, AppError> {
        let new = Self::new_account(input).await?;
        let account = self.store.insert_account(&new).await.map_err(conflict)?;
        self.audit(
            "cli",
            "account.create",
            Some(account.email.as_str()),
            json!({ "role": account.role.as_str() }),
            "local",
        )
        .await?;
        Ok(account_view(&account))
    }

    /// Creates an API key; shared by the server function and the CLI.
    pub async fn issue_api_key(
        &self,
        created_by: &str,
        name: &str,
        role: Role,
        expires_in_days: Option<u32>,
        ip: &str,
    ) -> Result<CreatedApiKey, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "name",
                "Give the key a name of 1 to 100 characters, without line breaks or other \
                 control characters, e.g. the script that uses it.",
            ));
        }
        if expires_in_days.is_some_and(|d| d == 0 || d > 3650) {
            return Err(AppError::invalid(
                "expires_in_days",
                "Expiry must be between 1 and 3650 days, or empty for a key that does not expire.",
            ));
        }
        let mut prefix = [0u8; domain::api_key::PREFIX_BYTES];
        let mut secret = [0u8; domain::api_key::SECRET_BYTES];
        secrets::fill_random(&mut prefix);
        secrets::fill_random(&mut secret);
        let key = ApiKey::from_random(prefix, secret);
        let record = self
            .store
            .insert_api_key(&NewApiKey {
                prefix: key.prefix().to_owned(),
                key_hash: secrets::sha256_hex(key.expose()),
                name: name.to_owned(),
                role,
                created_by: created_by.to_owned(),
                expires_at: expires_in_days.map(|d| now_ms() + i64::from(d) * 86_400_000),
            })
            .await
            .map_err(internal)?;
        self.audit(
            created_by,
            "api_key.create",
            Some(&record.prefix),
            json!({ "name": record.name, "role": role.as_str(), "expires_at": record.expires_at }),
            ip,
        )
        .await?;
        Ok(CreatedApiKey {
            key: key.expose().to_owned(),
            view: key_view(&record),
        })
    }

    /// Revokes a key by prefix; shared by the server function and the CLI.
    pub async fn revoke_key(
        &self,
        actor: &str,
        prefix: &str,
        ip: &str,
    ) -> Result<ApiKeyView, AppError> {
        let prefix = parse_api_key_prefix(prefix).ok_or_else(|| {
            AppError::invalid("prefix", "An API key prefix looks like sb_3f9a1c07e2.")
        })?;
        let record = self
            .store
            .revoke_api_key(&prefix)
            .await
            .map_err(internal)?
            .ok_or_else(|| AppError::not_found(format!("There is no API key {prefix}.")))?;
        self.audit(actor, "api_key.revoke", Some(&prefix), json!({}), ip)
            .await?;
        Ok(key_view(&record))
    }

    async fn existing_account(&self, id: &str) -> Result<Account, AppError> {
        self.store
            .account_by_id(id)
            .await
            .map_err(internal)?
            .ok_or_else(no_such_account)
    }

    /// The audit entries for an export or a page.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, AppError> {
        self.store.list_audit(filter).await.map_err(internal)
    }
}

#[async_trait]
impl AccessService for Access {
    async fn session_info(&self, caller: Option<&Caller>) -> Result<SessionInfo, AppError> {
        let setup_needed = self.store.needs_first_run().await.map_err(internal)?;
        let user = match caller.and_then(Caller::account_id) {
            Some(id) => self
                .store
                .account_by_id(id)
                .await
                .map_err(internal)?
                .map(|a| current_user(&a)),
            None => None,
        };
        Ok(SessionInfo { setup_needed, user })
    }

    async fn setup_first_admin(&self, input: AccountInput, ip: &str) -> Result<SignedIn, AppError> {
        let taken = || {
            AppError::conflict(
                "Switchboard is already set up. Sign in with an existing account.".into(),
            )
        };
        if !self.store.needs_first_run().await.map_err(internal)? {
            return Err(taken());
        }
        let new = Self::new_account(AccountInput {
            role: Role::AdministratorWithBilling,
            ..input
        })
        .await?;
        let account = match self.store.create_first_account(&new).await {
            Ok(account) => account,
            Err(StoreError::Conflict { .. }) => return Err(taken()),
            Err(e) => return Err(internal(e)),
        };
        self.audit(
            account.email.as_str(),
            "account.setup",
            Some(account.email.as_str()),
            json!({ "role": account.role.as_str() }),
            ip,
        )
        .await?;
        self.start_session(&account).await
    }

    async fn sign_in(&self, email: &str, password: &str, ip: &str) -> Result<SignedIn, AppError> {
        // What is recorded of the typed email (failures, throttling, audit): at most the longest
        // address, 254 characters, with control characters replaced, so an anonymous caller
        // cannot write megabytes per attempt.
        let typed: String = email
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .take(254)
            .collect();
        // What the audit log (read by every role) shows: the typed text only when it is an email
        // address. A password typed in the wrong box, or a pasted key, is not kept there.
        let address = EmailAddress::parse(email);
        let shown = if address.is_ok() {
            typed.as_str()
        } else {
            NOT_AN_EMAIL
        };
        let now = now_ms();
        let (by_email, by_ip) = self
            .store
            .recent_sign_in_failures(&typed, ip, now)
            .await
            .map_err(internal)?;
        let wait = sign_in_wait_ms(&by_email, now).max(sign_in_wait_ms(&by_ip, now));
        if let Some(wait) = wait {
            self.audit(
                "anonymous",
                "account.sign_in_throttled",
                Some(shown),
                json!({ "wait_seconds": wait / 1000 + 1 }),
                ip,
            )
            .await?;
            return Err(AppError::Throttled {
                retry_after_secs: u64::try_from(wait / 1000 + 1).unwrap_or(1),
            });
        }
        let account = match address {
            Ok(address) => self
                .store
                .account_by_email(&address)
                .await
                .map_err(internal)?,
            Err(_) => None,
        };
        let hash = account
            .as_ref()
            .map_or(self.dummy_hash.clone(), |a| a.password_hash.clone());
        let matches = verify_blocking(password.to_owned(), hash).await?;
        match account {
            Some(account) if matches && account.disabled_at.is_none() => {
                self.audit(
                    account.email.as_str(),
                    "account.sign_in",
                    Some(account.email.as_str()),
                    json!({}),
                    ip,
                )
                .await?;
                self.start_session(&account).await
            }
            _ => {
                self.store
                    .record_sign_in_failure(&typed, ip)
                    .await
                    .map_err(internal)?;
                self.audit(
                    "anonymous",
                    "account.sign_in_failed",
                    Some(shown),
                    json!({}),
                    ip,
                )
                .await?;
                Err(AppError::Invalid {
                    field: None,
                    message: WRONG_CREDENTIALS.into(),
                })
            }
        }
    }

    async fn sign_out(&self, caller: &Caller, ip: &str) -> Result<String, AppError> {
        if let CallerVia::Session { session_hash, .. } = &caller.via {
            self.store
                .revoke_session(session_hash)
                .await
                .map_err(internal)?;
            self.audit(&caller.actor, "account.sign_out", None, json!({}), ip)
                .await?;
        }
        Ok(self.clear_cookie())
    }

    async fn change_own_password(
        &self,
        caller: &Caller,
        current: &str,
        new: &str,
        new_again: &str,
        ip: &str,
    ) -> Result<SignedIn, AppError> {
        let account_id = caller
            .account_id()
            .ok_or_else(|| AppError::forbidden("An API key has no password to change.".into()))?;
        let account = self.existing_account(account_id).await?;
        if !verify_blocking(current.to_owned(), account.password_hash.clone()).await? {
            return Err(AppError::invalid(
                "current_password",
                "The current password is incorrect.",
            ));
        }
        let password = NewPassword::parse_confirmed(new, new_again)
            .map_err(|e| AppError::invalid("new_password", e))?;
        let hash = hash_blocking(password).await?;
        self.store
            .set_password_hash(&account.id, &hash)
            .await
            .map_err(internal)?;
        self.audit(
            &caller.actor,
            "account.change_password",
            Some(account.email.as_str()),
            json!({}),
            ip,
        )
        .await?;
        self.start_session(&account).await
    }

    async fn list_accounts(&self, caller: &Caller) -> Result<Vec<AccountView>, AppError> {
        require(Some(caller), Permission::ManageAccess)?;
        let accounts = self.store.list_accounts().await.map_err(internal)?;
        Ok(accounts.iter().map(account_view).collect())
    }

    async fn create_account(
        &self,
        caller: &Caller,
        input: AccountInput,
        ip: &str,
    ) -> Result<AccountView, AppError> {
        require(Some(caller), Permission::ManageAccess)?;
        let new = Self::new_account(input).await?;
        let account = self.store.insert_account(&new).await.map_err(conflict)?;
        self.audit(
            &caller.actor,
            "account.create",
            Some(account.email.as_str()),
            json!({ "role": account.role.as_str() }),
            ip,
        )
        .await?;
        Ok(account_view(&account))
    }

    async fn update_account(
        &self,
        caller: &Caller,
        id: &str,
        role: Role,
        disabled: bool,
        shown: Option<(Role, bool)>,
        ip: &str,
    ) -> Result<AccountView, AppError> {
        require(Some(caller), Permission::ManageAccess)?;
        let revoked_keys = match self
            .store
            .update_access(id, role, disabled, shown)
            .await
            .map_err(internal)?
        {
            AccessChange::Done { revoked_keys } => revoked_keys,
            AccessChange::NotFound => return Err(no_such_account()),
            AccessChange::ChangedMeanwhile { role, disabled } => {
                return Err(AppError::conflict(format!(
                    "Someone changed this account since the page showed it: it is now {}, {}. \
                     The list shows it as it is now; choose again.",
                    role.label(),
                    if disabled { "disabled" } else { "enabled" }
                )));
            }
            AccessChange::LastBillingAdministrator => {
                return Err(AppError::conflict(
                    "This is the last enabled Administrator With Billing: make another account \
                     Administrator With Billing first."
                        .into(),
                ));
            }
        };
        let account = self.existing_account(id).await?;
        self.audit(
            &caller.actor,
            "account.update",
            Some(account.email.as_str()),
            json!({ "role": role.as_str(), "disabled": disabled, "revoked_api_keys": revoked_keys }),
            ip,
        )
        .await?;
        Ok(account_view(&account))
    }

    async fn reset_password(
        &self,
        caller: &Caller,
        id: &str,
        password: &str,
        ip: &str,
    ) -> Result<(), AppError> {
        require(Some(caller), Permission::ManageAccess)?;
        let password =
            NewPassword::parse(password).map_err(|e| AppError::invalid("password", e))?;
        let account = self.existing_account(id).await?;
        let hash = hash_blocking(password).await?;
        self.store
            .set_password_hash(id, &hash)
            .await
            .map_err(internal)?;
        self.audit(
            &caller.actor,
            "account.reset_password",
            Some(account.email.as_str()),
            json!({}),
            ip,
        )
        .await
    }

    async fn list_api_keys(&self, caller: &Caller) -> Result<Vec<ApiKeyView>, AppError> {
        require(Some(caller), Permission::ManageAccess)?;
        let keys = self.store.list_api_keys().await.map_err(internal)?;
        Ok(keys.iter().map(key_view).collect())
    }

    async fn create_api_key(
        &self,
        caller: &Caller,
        name: &str,
        role: Role,
        expires_in_days: Option<u32>,
        ip: &str,
    ) -> Result<CreatedApiKey, AppError> {
        require(Some(caller), Permission::ManageAccess)?;
        self.issue_api_key(&caller.actor, name, role, expires_in_days, ip)
            .await
    }

    async fn revoke_api_key(
        &self,
        caller: &Caller,
        prefix: &str,
        ip: &str,
    ) -> Result<ApiKeyView, AppError> {
        require(Some(caller), Permission::ManageAccess)?;
        self.revoke_key(&caller.actor, prefix, ip).await
    }

    async fn list_audit(
        &self,
        caller: &Caller,
        actor: Option<String>,
        action: Option<String>,
        before_id: Option<i64>,
    ) -> Result<AuditPage, AppError> {
        require(Some(caller), Permission::Read)?;
        let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let mut entries = self
            .audit_entries(&AuditFilter {
                actor: clean(actor),
                action: clean(action),
                before_id,
                limit: AUDIT_PAGE_SIZE + 1,
            })
            .await?;
        let more = entries.len() > AUDIT_PAGE_SIZE as usize;
        entries.truncate(AUDIT_PAGE_SIZE as usize);
        Ok(AuditPage {
            next_before_id: if more {
                entries.last().map(|e| e.id)
            } else {
                None
            },
            entries: entries.into_iter().map(audit_view).collect(),
        })
    }
}

async fn hash_blocking(password: NewPassword) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || secrets::hash_password(password.expose()))
        .await
        .map_err(|e| internal(format!("password hashing task failed: {e}")))?
        .map_err(|e| internal(format!("password hashing failed: {e}")))
}

async fn verify_blocking(password: String, hash: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || secrets::verify_password(&password, &hash))
        .await
        .map_err(|e| internal(format!("password check task failed: {e}")))
}

/// Logs a server fault with its detail and hands the user the generic message.
fn internal(error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "access service failed");
    AppError::Internal
}

fn no_such_account() -> AppError {
    AppError::not_found(
        "There is no such account; it may have been removed. Reload the page.".into(),
    )
}

fn conflict(error: StoreError) -> AppError {
    match error {
        StoreError::Conflict { .. } => {
            AppError::invalid("email", "An account with this email already exists.")
        }
        other => internal(other),
    }
}

fn current_user(account: &Account) -> CurrentUser {
    CurrentUser {
        email: account.email.as_str().to_owned(),
        name: account.name.clone(),
        role: account.role,
    }
}

fn account_view(account: &Account) -> AccountView {
    AccountView {
        id: account.id.clone(),
        email: account.email.as_str().to_owned(),
        name: account.name.clone(),
        role: account.role,
        disabled: account.disabled_at.is_some(),
        created_at: account.created_at,
    }
}

fn key_view(record: &ApiKeyRecord) -> ApiKeyView {
    ApiKeyView {
        prefix: record.prefix.clone(),
        name: record.name.clone(),
        role: record.role,
        created_by: record.created_by.clone(),
        created_at: record.created_at,
        last_used_at: record.last_used_at,
        expires_at: record.expires_at,
        revoked_at: record.revoked_at,
    }
}

fn audit_view(entry: AuditEntry) -> AuditEntryView {
    AuditEntryView {
        id: entry.id,
        occurred_at: entry.occurred_at,
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        detail: entry.detail,
        ip: entry.ip,
    }
}
