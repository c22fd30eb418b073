//! The connector service: validation (domain), encryption of secrets (vault), storage, audit.

use app::auth::AppError;
use app::auth::service::require;
use app::connectors::service::ConnectorService;
use app::connectors::{ConnectionTest, ConnectorView};
use app::workflows::WorkflowRef;
use async_trait::async_trait;
use domain::connector::{
    AuthSettings, ConnectorHeader, ConnectorInput, FieldErrors, RowValue, Secrets, Stored,
    ValidConnector,
};
use domain::{Caller, Permission};
use serde_json::json;

use crate::outbound::Outbound;
use crate::recent::Recent;
use crate::storage::{ConnectorRecord, ConnectorUpdate, ConnectorWrite, Store, StoreError};
use crate::vault::Vault;
use domain::endpoint::EndpointPath;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;

/// How long *Test connection* waits for an answer.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The associated-data field name of a connector's authentication secret.
pub(crate) const SECRET_FIELD: &str = "auth_secret";
/// The associated-data field name of a connector's secret headers (sealed together).
pub(crate) const HEADER_SECRETS_FIELD: &str = "header_secrets";

/// A connector loaded for a run; `secrets` is `None` when its authentication secret is missing.
pub(crate) struct RunConnector {
    pub record: ConnectorRecord,
    pub settings: AuthSettings,
    /// The plain headers.
    pub headers: Vec<(String, String)>,
    /// The names of the secret headers.
    pub secret_headers: Vec<String>,
    pub secrets: Option<Secrets>,
    /// Every form the secrets could come back in, for redacting responses: worked out once per
    /// load rather than for each step.
    pub redaction_forms: Vec<SecretString>,
}

/// How long a connector loaded for a run is used again without reading it: a run of twenty
/// nodes would otherwise read and decrypt its connector twenty times. Edits made through this
/// process apply at once; another replica's, within this.
const RUN_CACHE_FOR: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Connectors {
    store: Store,
    vault: Vault,
    outbound: Outbound,
    /// Connectors loaded for runs in the last [`RUN_CACHE_FOR`], by id.
    for_runs: Recent<RunConnector>,
}

impl Connectors {
    pub fn new(store: Store, vault: Vault, outbound: Outbound) -> Connectors {
        Connectors {
            store,
            vault,
            outbound,
            for_runs: Recent::new(RUN_CACHE_FOR),
        }
    }

    /// Forgets connector `id` as loaded for runs: called after each change to it.
    fn changed(&self, id: &str) {
        self.for_runs.forget(id);
    }

    /// The stored secret of a connector, decrypted.
    fn stored_secret(&self, record: &ConnectorRecord) -> Result<Option<SecretString>, AppError> {
        record
            .secret_ciphertext
            .as_deref()
            .map(|sealed| {
                self.vault
                    .decrypt(sealed, &record_aad(&record.id), SECRET_FIELD)
                    .map_err(internal)
            })
            .transpose()
    }

    /// The stored secret headers of a connector, decrypted: (name, value) in order.
    fn stored_header_secrets(
        &self,
        record: &ConnectorRecord,
    ) -> Result<Vec<(String, SecretString)>, AppError> {
        let Some(sealed) = record.header_secrets.as_deref() else {
            return Ok(Vec::new());
        };
        let plain = self
            .vault
            .decrypt(sealed, &record_aad(&record.id), HEADER_SECRETS_FIELD)
            .map_err(internal)?;
        let rows: Vec<(String, String)> = serde_json::from_str(plain.expose_secret())
            .map_err(|_| internal(format!("connector {}: bad secret headers", record.id)))?;
        Ok(rows
            .into_iter()
            .map(|(name, value)| (name, SecretString::from(value)))
            .collect())
    }

    /// A connector as a run needs it: what to plan with and the credentials, decrypted. `None`
    /// when it was deleted. Read at most once per [`RUN_CACHE_FOR`].
    pub(crate) async fn for_run(&self, id: &str) -> Result<Option<Arc<RunConnector>>, AppError> {
        if let Some(connector) = self.for_runs.get(id) {
            return Ok(Some(connector));
        }
        // Taken before the read: a change made while it runs keeps its result out of the cache.
        let before = self.for_runs.changes();
        let Some(connector) = self.load_for_run(id).await? else {
            self.changed(id);
            return Ok(None);
        };
        Ok(Some(self.for_runs.put_if_unchanged(id, connector, before)))
    }

    async fn load_for_run(&self, id: &str) -> Result<Option<RunConnector>, AppError> {
        let Some(record) = self.store.connector(id).await.map_err(internal)? else {
            return Ok(None);
        };
        let settings = settings_of(&record)?;
        let rows = rows_of(&record)?;
        let secret = self.stored_secret(&record)?;
        let secret_headers = self.stored_header_secrets(&record)?;
        let names = secret_names(&rows);
        // Every secret header named in `headers` must have its value (a restored or edited
        // database might not): a request without one is not sent, as without the secret.
        let complete = names.iter().all(|name| {
            secret_headers
                .iter()
                .any(|(stored, _)| stored.eq_ignore_ascii_case(name))
        });
        let secrets = settings
            .with_secret(secret)
            .filter(|_| complete)
            .map(|auth| Secrets {
                auth,
                headers: secret_headers,
            });
        Ok(Some(RunConnector {
            settings,
            headers: plain_rows(&rows),
            secret_headers: names,
            redaction_forms: secrets
                .as_ref()
                .map(Secrets::redaction_forms)
                .unwrap_or_default(),
            secrets,
            record,
        }))
    }

    /// Makes secret, encrypted, the plain connector headers that hold credentials (saved before
    /// secret headers existed, or before the name was known to be one; see
    /// [`domain::connector::seal_plain_credentials`] for which), so their values are no longer
    /// shown to readers, recorded with runs, or sent across origins. Run at start-up by every
    /// replica: a connector changed meanwhile (by an edit, or by another replica doing the same)
    /// is left to that change. A connector that cannot be sealed (unreadable, or a failed write)
    /// is logged and skipped: it never stops the server. Audited per connector.
    pub async fn seal_plain_credential_headers(&self) -> SealReport {
        let mut report = SealReport::default();
        let records = match self.store.list_connectors(None).await {
            Ok(records) => records,
            Err(error) => {
                tracing::error!(%error, "cannot list connectors to make plain credential headers secret");
                report.failed += 1;
                return report;
            }
        };
        for record in records {
            match self.seal_one(&record).await {
                Ok(true) => report.sealed += 1,
                Ok(false) => {}
                Err(error) => {
                    report.failed += 1;
                    tracing::error!(connector = %record.name, %error, "cannot make its plain credential headers secret; left as it is");
                }
            }
        }
        report
    }

    /// Seals one connector's plain credential headers; false when there were none, or it
    /// changed since it was read.
    async fn seal_one(&self, record: &ConnectorRecord) -> Result<bool, AppError> {
        let rows = rows_of(record)?;
        // The rest is read only for a connector with something that could be sealed.
        if !rows
            .iter()
            .any(|(name, value)| value.is_some() && domain::connector::is_credential_name(name))
        {
            return Ok(false);
        }
        let step_headers = self.step_header_names(&record.id).await?;
        let secrets = self.stored_header_secrets(record)?;
        let Some(sealed) =
            domain::connector::seal_plain_credentials(&rows, &secrets, &step_headers)
        else {
            return Ok(false);
        };
        let values: Vec<(&str, &str)> = sealed
            .secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        let plain = SecretString::from(serde_json::to_string(&values).map_err(internal)?);
        let ciphertext = self
            .vault
            .encrypt(&plain, &record_aad(&record.id), HEADER_SECRETS_FIELD);
        let headers = serde_json::to_string(&sealed.rows).map_err(internal)?;
        let replaced = self
            .store
            .replace_connector_headers(
                &record.id,
                (record.updated_at, &record.headers),
                &headers,
                (&ciphertext, self.vault.key_version),
            )
            .await
            .map_err(internal)?;
        if !replaced {
            return Ok(false);
        }
        self.changed(&record.id);
        tracing::warn!(
            connector = %record.name,
            headers = ?sealed.sealed,
            "plain-text credential headers made secret (encrypted, no longer shown)"
        );
        let entry = crate::storage::NewAuditEntry {
            actor: "server".into(),
            action: "connector.update".into(),
            target: Some(record.name.clone()),
            detail: Some(json!({
                "id": record.id,
                "changed": ["headers", "secret_headers"],
                "secret_headers": sealed.sealed,
                "reason": "plain-text credential headers made secret at start-up",
            })),
            ip: Some("local".into()),
        };
        self.store.append_audit(&entry).await.map_err(internal)?;
        Ok(true)
    }

    /// The names of the headers the steps of workflows using connector `id` set. A workflow
    /// that cannot be read is an error: what its steps set is not known.
    async fn step_header_names(&self, id: &str) -> Result<Vec<String>, AppError> {
        let mut names = Vec::new();
        for (workflow_id, _) in self.store.workflows_using(id).await.map_err(internal)? {
            let Some(workflow) = self.store.workflow(&workflow_id).await.map_err(internal)? else {
                continue;
            };
            let definition =
                crate::workflows::Definition::parse(&workflow_id, &workflow.definition)
                    .map_err(internal)?;
            for step in &definition.steps {
                let domain::workflow::Action::ExternalAppConnector {
                    connector_id,
                    headers,
                    ..
                } = &step.action;
                if connector_id == id {
                    names.extend(headers.iter().map(|h| h.key.trim().to_owned()));
                }
            }
        }
        Ok(names)
    }

    /// A REST `PUT`: the fields the body leaves out keep their stored values (its header rows,
    /// whether it is enabled), as an omitted secret does, instead of being reset.
    pub async fn update_keeping_omitted(
        &self,
        caller: &Caller,
        id: &str,
        mut input: ConnectorInput,
        omitted: &[&str],
        ip: &str,
    ) -> Result<ConnectorView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        if !omitted.is_empty() {
            let stored = view(&self.existing(id).await?)?;
            if omitted.contains(&"headers") {
                // Secret rows come back empty, which keeps their stored values.
                input.headers = stored.headers;
            }
            if omitted.contains(&"enabled") {
                input.enabled = stored.enabled;
            }
            // What was merged is what the update checks against.
            input.updated_at = input.updated_at.or(Some(stored.updated_at));
        }
        self.update(caller, id, input, ip).await
    }

    pub(crate) fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    async fn existing(&self, id: &str) -> Result<ConnectorRecord, AppError> {
        self.store
            .connector(id)
            .await
            .map_err(internal)?
            .ok_or_else(|| AppError::not_found(format!("There is no connector {id}.")))
    }

    /// Validates, checks the name is free, and builds the row to write for connector `id`.
    async fn prepare(
        &self,
        id: &str,
        input: &ConnectorInput,
        stored: Option<&ConnectorRecord>,
    ) -> Result<(ValidConnector, ConnectorWrite), AppError> {
        let facts = stored.map(StoredFacts::of).transpose()?.flatten();
        let valid = match input.validate(facts.as_ref().map(StoredFacts::place)) {
            Ok(valid) => valid,
            Err(mut errors) => {
                self.check_name(input, stored, &mut errors).await?;
                return Err(AppError::fields(errors));
            }
        };
        let mut errors = FieldErrors::default();
        self.check_name(input, stored, &mut errors).await?;
        if !errors.is_empty() {
            return Err(AppError::fields(errors));
        }
        let secret = match (&valid.new_secret, valid.settings.kind().secret_field()) {
            (Some(secret), Some(_)) => Some(Some((
                self.vault.encrypt(secret, &record_aad(id), SECRET_FIELD),
                self.vault.key_version,
            ))),
            // None authentication: no secret; any stored one goes.
            (_, None) => Some(None),
            // Same type, secret left empty: keep the stored one.
            (None, Some(_)) => None,
        };
        let header_secrets = self.secret_headers(input, &valid, stored)?;
        let header_secrets = if header_secrets.is_empty() {
            None
        } else {
            let rows: Vec<(&str, &str)> = header_secrets
                .iter()
                .map(|(k, v)| (k.as_str(), v.expose_secret()))
                .collect();
            let plain = SecretString::from(serde_json::to_string(&rows).map_err(internal)?);
            Some((
                self.vault
                    .encrypt(&plain, &record_aad(id), HEADER_SECRETS_FIELD),
                self.vault.key_version,
            ))
        };
        let write = ConnectorWrite {
            name: valid.name.as_str().to_owned(),
            name_key: valid.name.unique_key(),
            enabled: valid.enabled,
            base_url: valid.base_url.as_str().to_owned(),
            auth_settings: serde_json::to_string(&valid.settings).map_err(internal)?,
            secret,
            headers: serde_json::to_string(&valid.stored_rows()).map_err(internal)?,
            header_secrets,
        };
        Ok((valid, write))
    }

    /// The secret headers a validated connector sends: typed values, and kept ones decrypted
    /// from `stored` (read only when one is kept).
    fn secret_headers(
        &self,
        input: &ConnectorInput,
        valid: &ValidConnector,
        stored: Option<&ConnectorRecord>,
    ) -> Result<Vec<(String, SecretString)>, AppError> {
        let keeps = valid
            .headers
            .iter()
            .any(|(_, v)| matches!(v, RowValue::Secret(None)));
        let kept = match stored {
            Some(record) if keeps => self.stored_header_secrets(record)?,
            _ => Vec::new(),
        };
        valid.secret_headers(&kept).map_err(|name| {
            let row = input
                .headers
                .iter()
                .position(|h| h.key.trim() == name)
                .unwrap_or_default();
            AppError::invalid(
                &format!("headers[{row}].value"),
                format!("Enter the value of {name} again: its stored value could not be found."),
            )
        })
    }

    async fn check_name(
        &self,
        input: &ConnectorInput,
        stored: Option<&ConnectorRecord>,
        errors: &mut FieldErrors,
    ) -> Result<(), AppError> {
        if let Ok(name) = domain::connector::ConnectorName::parse(&input.name) {
            let taken = self
                .store
                .name_taken(&name.unique_key(), stored.map(|r| r.id.as_str()))
                .await
                .map_err(internal)?;
            if taken {
                errors.add(
                    "name",
                    format!("A connector named {} already exists.", name.as_str()),
                );
            }
        }
        Ok(())
    }

    async fn users_of(&self, id: &str) -> Result<Vec<WorkflowRef>, AppError> {
        Ok(self
            .store
            .workflows_using(id)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|(id, name)| WorkflowRef { id, name })
            .collect())
    }

    /// The view with `used_by` counted.
    async fn counted(&self, mut view: ConnectorView) -> Result<ConnectorView, AppError> {
        view.used_by = u32::try_from(self.users_of(&view.id).await?.len()).unwrap_or(u32::MAX);
        Ok(view)
    }

    async fn audit(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        detail: serde_json::Value,
        ip: &str,
    ) -> Result<(), AppError> {
        self.store
            .audit_by(caller, action, target, detail, ip)
            .await
            .map_err(internal)
    }
}

#[async_trait]
impl ConnectorService for Connectors {
    async fn list(
        &self,
        caller: &Caller,
        search: Option<&str>,
    ) -> Result<Vec<ConnectorView>, AppError> {
        require(Some(caller), Permission::Read)?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        let records = self.store.list_connectors(search).await.map_err(internal)?;
        let usage: std::collections::HashMap<String, i64> = self
            .store
            .connector_usage()
            .await
            .map_err(internal)?
            .into_iter()
            .collect();
        records
            .iter()
            .map(|record| {
                let mut view = view(record)?;
                view.used_by = usage
                    .get(&record.id)
                    .map_or(0, |n| u32::try_from(*n).unwrap_or(u32::MAX));
                Ok(view)
            })
            .collect()
    }

    async fn get(&self, caller: &Caller, id: &str) -> Result<ConnectorView, AppError> {
        require(Some(caller), Permission::Read)?;
        self.counted(view(&self.existing(id).await?)?).await
    }

    async fn usage(&self, caller: &Caller, id: &str) -> Result<Vec<WorkflowRef>, AppError> {
        require(Some(caller), Permission::Read)?;
        self.existing(id).await?;
        self.users_of(id).await
    }

    async fn create(
        &self,
        caller: &Caller,
        input: ConnectorInput,
        ip: &str,
    ) -> Result<ConnectorView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let id = uuid::Uuid::now_v7().to_string();
        let (valid, write) = self.prepare(&id, &input, None).await?;
        let record = self
            .store
            .insert_connector_with_id(&id, &write)
            .await
            .map_err(|e| name_conflict(e, valid.name.as_str()))?;
        self.audit(
            caller,
            "connector.create",
            &record.name,
            json!({ "id": record.id, "auth": valid.settings.kind(), "enabled": record.enabled }),
            ip,
        )
        .await?;
        view(&record)
    }

    async fn update(
        &self,
        caller: &Caller,
        id: &str,
        input: ConnectorInput,
        ip: &str,
    ) -> Result<ConnectorView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let before = self.existing(id).await?;
        if input
            .updated_at
            .is_some_and(|opened| opened != before.updated_at)
        {
            return Err(changed_since(&before.name));
        }
        let (valid, write) = self.prepare(id, &input, Some(&before)).await?;
        // Written only over what was read here: the kept secrets were read with it.
        let after = match self
            .store
            .update_connector_if(id, &write, Some(before.updated_at))
            .await
            .map_err(|e| name_conflict(e, valid.name.as_str()))?
        {
            ConnectorUpdate::Saved(after) => *after,
            ConnectorUpdate::NotFound => {
                return Err(AppError::not_found(format!("There is no connector {id}.")));
            }
            ConnectorUpdate::Changed => return Err(changed_since(&before.name)),
        };
        self.changed(id);
        let mut changed = Vec::new();
        for (field, was, now) in [
            ("name", &before.name, &after.name),
            ("base_url", &before.base_url, &after.base_url),
            ("auth", &before.auth_settings, &after.auth_settings),
            ("headers", &before.headers, &after.headers),
        ] {
            if was != now {
                changed.push(field);
            }
        }
        if before.enabled != after.enabled {
            changed.push("enabled");
        }
        if write.secret.is_some() && before.secret_ciphertext != after.secret_ciphertext {
            changed.push("secret");
        }
        // Names and which rows are secret show in `headers`; these had a value typed (names only).
        let typed: Vec<&str> = valid
            .headers
            .iter()
            .filter(|(_, v)| matches!(v, RowValue::Secret(Some(_))))
            .map(|(name, _)| name.as_str())
            .collect();
        if !typed.is_empty() {
            changed.push("secret_headers");
        }
        let mut detail = json!({ "id": id, "changed": changed });
        if !typed.is_empty() {
            detail["secret_headers"] = json!(typed);
        }
        self.audit(caller, "connector.update", &after.name, detail, ip)
            .await?;
        self.counted(view(&after)?).await
    }

    async fn set_enabled(
        &self,
        caller: &Caller,
        id: &str,
        enabled: bool,
        ip: &str,
    ) -> Result<ConnectorView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        if !self
            .store
            .set_connector_enabled(id, enabled)
            .await
            .map_err(internal)?
        {
            return Err(AppError::not_found(format!("There is no connector {id}.")));
        }
        self.changed(id);
        let record = self.existing(id).await?;
        let action = if enabled {
            "connector.enable"
        } else {
            "connector.disable"
        };
        self.audit(caller, action, &record.name, json!({ "id": id }), ip)
            .await?;
        self.counted(view(&record)?).await
    }

    async fn name_taken(
        &self,
        caller: &Caller,
        name: &str,
        except_id: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let Ok(name) = domain::connector::ConnectorName::parse(name) else {
            return Ok(None); // the form's own validation says what is wrong
        };
        let taken = self
            .store
            .name_taken(&name.unique_key(), except_id)
            .await
            .map_err(internal)?;
        Ok(taken.then(|| format!("A connector named {} already exists.", name.as_str())))
    }

    async fn test(
        &self,
        caller: &Caller,
        id: Option<&str>,
        input: ConnectorInput,
        test_path: &str,
        ip: &str,
    ) -> Result<ConnectionTest, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let stored = match id {
            Some(id) => Some(self.existing(id).await?),
            None => None,
        };
        let facts = stored.as_ref().map(StoredFacts::of).transpose()?.flatten();
        let path = EndpointPath::parse(test_path);
        let valid = input.validate(facts.as_ref().map(StoredFacts::place));
        let (valid, path) = match (valid, path) {
            (Ok(valid), Ok(path)) => (valid, path),
            (valid, path) => {
                let mut errors = valid.err().unwrap_or_default();
                if let Err(e) = path {
                    errors.add("test_path", e);
                }
                return Err(AppError::fields(errors));
            }
        };
        let secret = match (valid.new_secret.clone(), &stored) {
            (Some(secret), _) => Some(secret),
            (None, Some(record)) => self.stored_secret(record)?,
            (None, None) => None,
        };
        let auth = valid.settings.with_secret(secret).ok_or_else(|| {
            AppError::invalid("auth", "Enter the secret for this authentication type.")
        })?;
        let secrets = Secrets {
            auth,
            headers: self.secret_headers(&input, &valid, stored.as_ref())?,
        };
        let request = format!("GET {}", path.join(&valid.base_url));
        let answer = self
            .outbound
            .get(
                &valid.base_url,
                &path,
                &valid.plain_headers(),
                &secrets,
                TEST_TIMEOUT,
            )
            .await;
        let result = match answer {
            Ok(answer) => {
                let ok = (200..300).contains(&answer.status);
                ConnectionTest {
                    request,
                    status: Some(answer.status),
                    status_text: answer.reason.map(str::to_owned),
                    latency_ms: answer.latency.as_millis().try_into().unwrap_or(u64::MAX),
                    ok,
                    reason: (!ok).then(|| status_advice(answer.status)),
                }
            }
            Err(failure) => ConnectionTest {
                request,
                status: None,
                status_text: None,
                latency_ms: 0,
                ok: false,
                reason: Some(failure.to_string()),
            },
        };
        let target = stored
            .as_ref()
            .map_or(valid.name.as_str(), |r| r.name.as_str());
        self.audit(
            caller,
            "connector.test",
            target,
            json!({
                "id": id,
                "status": result.status,
                "ok": result.ok,
                "reason": result.reason,
            }),
            ip,
        )
        .await?;
        Ok(result)
    }

    async fn delete(&self, caller: &Caller, id: &str, ip: &str) -> Result<(), AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let record = self.existing(id).await?;
        let users = self.users_of(id).await?;
        if !users.is_empty() {
            return Err(in_use(&record.name, &users));
        }
        // A workflow saved meanwhile still stops the delete: the database reference refuses it.
        match self.store.delete_connector(id).await {
            Ok(_) => self.changed(id),
            Err(StoreError::Conflict { .. }) => {
                return Err(in_use(&record.name, &self.users_of(id).await?));
            }
            Err(other) => return Err(internal(other)),
        }
        self.audit(
            caller,
            "connector.delete",
            &record.name,
            json!({ "id": id }),
            ip,
        )
        .await
    }
}

fn in_use(name: &str, users: &[WorkflowRef]) -> AppError {
    let names: Vec<&str> = users.iter().map(|w| w.name.as_str()).collect();
    AppError::conflict(format!(
        "{name} is used by {} workflow{}: {}. Remove it from their steps first, then delete it.",
        users.len(),
        if users.len() == 1 { "" } else { "s" },
        names.join(", ")
    ))
}

/// The associated-data record name of a connector's secret.
pub(crate) fn record_aad(id: &str) -> String {
    format!("connector:{id}")
}

/// What a non-2xx answer most likely means.
fn status_advice(status: u16) -> String {
    match status {
        401 => "The API answered 401 Unauthorized: check the credentials.".into(),
        403 => "The API answered 403 Forbidden: the credentials work but lack permission.".into(),
        404 => "The API answered 404 Not Found: check the base URL or the test path.".into(),
        300..=399 => {
            format!("The API answered {status} (a redirect, not followed): check the base URL.")
        }
        400..=499 => format!("The API answered {status}: check the test path and the headers."),
        _ => format!("The API answered {status}: the upstream service has a problem."),
    }
}

/// What validation needs of a stored connector, owned; [`StoredFacts::place`] lends it out.
struct StoredFacts<'r> {
    record: &'r ConnectorRecord,
    settings: AuthSettings,
    secret_headers: Vec<String>,
}

impl<'r> StoredFacts<'r> {
    /// `None` when its settings cannot be read: then nothing stored is reused.
    fn of(record: &'r ConnectorRecord) -> Result<Option<StoredFacts<'r>>, AppError> {
        let Ok(settings) = settings_of(record) else {
            return Ok(None);
        };
        Ok(Some(StoredFacts {
            record,
            settings,
            secret_headers: secret_names(&rows_of(record)?),
        }))
    }

    fn place(&self) -> Stored<'_> {
        Stored {
            settings: &self.settings,
            base_url: &self.record.base_url,
            secret_headers: &self.secret_headers,
        }
    }
}

fn settings_of(record: &ConnectorRecord) -> Result<AuthSettings, AppError> {
    serde_json::from_str(&record.auth_settings)
        .map_err(|e| internal(format!("connector {}: bad auth settings: {e}", record.id)))
}

/// The header rows as stored: a secret row's value is `None`.
pub(crate) fn rows_of(record: &ConnectorRecord) -> Result<Vec<(String, Option<String>)>, AppError> {
    // Without the values serde quotes: a plain header row may hold a credential.
    serde_json::from_str(&record.headers).map_err(|e| {
        internal(format!(
            "connector {}: bad headers: {}",
            record.id,
            domain::decode::without_quoted_value(&e.to_string())
        ))
    })
}

pub(crate) fn plain_rows(rows: &[(String, Option<String>)]) -> Vec<(String, String)> {
    rows.iter()
        .filter_map(|(name, value)| Some((name.clone(), value.clone()?)))
        .collect()
}

pub(crate) fn secret_names(rows: &[(String, Option<String>)]) -> Vec<String> {
    rows.iter()
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| name.clone())
        .collect()
}

/// What may be shown of a connector: a secret header's value is never among it.
fn view(record: &ConnectorRecord) -> Result<ConnectorView, AppError> {
    let headers = rows_of(record)?;
    Ok(ConnectorView {
        id: record.id.clone(),
        name: record.name.clone(),
        enabled: record.enabled,
        base_url: record.base_url.clone(),
        auth: settings_of(record)?,
        has_secret: record.secret_ciphertext.is_some(),
        headers: headers
            .into_iter()
            .map(|(key, value)| ConnectorHeader {
                key,
                secret: value.is_none(),
                value: value.unwrap_or_default(),
            })
            .collect(),
        used_by: 0,
        last_used_at: record.last_used_at,
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}

/// What [`Connectors::seal_plain_credential_headers`] did: connectors sealed, and ones that
/// could not be read or written (logged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealReport {
    pub sealed: usize,
    pub failed: usize,
}

/// An edit refused because the connector was saved by someone else after it was opened.
fn changed_since(name: &str) -> AppError {
    AppError::conflict(format!(
        "Connector {name} was changed after you opened it (by someone else, or by you elsewhere, such as its Enabled switch). Reload it to see the change, then make your edit again."
    ))
}

fn name_conflict(error: StoreError, name: &str) -> AppError {
    match error {
        StoreError::Conflict { .. } => {
            let mut errors = FieldErrors::default();
            errors.add("name", format!("A connector named {name} already exists."));
            AppError::fields(errors)
        }
        other => internal(other),
    }
}

fn internal(error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "connector service failed");
    AppError::Internal
}
