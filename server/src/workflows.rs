//! The workflow service: validation (domain, against the connectors as stored), versioned saves
//! with optimistic concurrency, history, audit.

use std::collections::HashMap;

use app::auth::AppError;
use app::auth::service::require;
use app::workflows::service::WorkflowService;
use app::workflows::{WorkflowVersionView, WorkflowView};
use async_trait::async_trait;
use domain::connector::AuthSettings;
use domain::plan::auth_header_name;
use domain::workflow::{ConnectorFacts, Step, Trigger, WorkflowInput};
use domain::{Caller, Permission};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::storage::{Store, StoreError, WorkflowRecord, WorkflowUpdate, WorkflowWrite};

#[derive(Clone)]
pub struct Workflows {
    store: Store,
}

/// What the `definition` column holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Definition {
    pub trigger: Trigger,
    pub steps: Vec<Step>,
}

impl Definition {
    /// Workflow `id`'s stored definition. The error leaves out the values serde quotes: a
    /// definition holds typed header values and bodies, and the error goes to the log.
    pub(crate) fn parse(id: &str, text: &str) -> Result<Definition, String> {
        serde_json::from_str(text).map_err(|e| {
            format!(
                "workflow {id}: bad definition: {}",
                domain::decode::without_quoted_value(&e.to_string())
            )
        })
    }
}

/// The stored workflow `id`, or the 404 that names it (shared by the run and trigger services).
pub(crate) async fn existing(store: &Store, id: &str) -> Result<WorkflowRecord, AppError> {
    store
        .workflow(id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::not_found(format!("There is no workflow {id}.")))
}

impl Workflows {
    pub fn new(store: Store) -> Workflows {
        Workflows { store }
    }

    /// Validates against the connectors as stored now and builds the row to write.
    async fn prepare(&self, input: &WorkflowInput, actor: &str) -> Result<WorkflowWrite, AppError> {
        let connectors = self.store.list_connectors(None).await.map_err(internal)?;
        let facts: HashMap<String, ConnectorFacts> = connectors
            .into_iter()
            .map(|c| {
                let auth_header = serde_json::from_str::<AuthSettings>(&c.auth_settings)
                    .ok()
                    .and_then(|settings| auth_header_name(&settings).map(str::to_owned));
                // A connector whose headers cannot be read is reported by its own page and by
                // its runs; here it only means no step header is refused as its secret header.
                let secret_headers = crate::connectors::rows_of(&c)
                    .map(|rows| crate::connectors::secret_names(&rows))
                    .unwrap_or_default();
                let facts = ConnectorFacts {
                    name: c.name,
                    enabled: c.enabled,
                    base_url: c.base_url,
                    auth_header,
                    secret_headers,
                };
                (c.id, facts)
            })
            .collect();
        let mut problems = input
            .validate(&|id| facts.get(id).cloned())
            .err()
            .unwrap_or_default();
        // The browser has no time-zone database; the server checks the name.
        if let Trigger::Schedule { timezone, .. } = &input.trigger
            && problems.fields.get("trigger.timezone").is_none()
            && let Err(e) = crate::schedule::time_zone(timezone)
        {
            problems.fields.add("trigger.timezone", e);
        }
        if !problems.is_empty() {
            let fields = problems.to_field_errors(&input.steps);
            return Err(AppError::Fields {
                message: problems.summary(&input.steps),
                fields: fields.0,
            });
        }
        write_of(input, actor)
    }

    async fn existing(&self, id: &str) -> Result<WorkflowRecord, AppError> {
        existing(&self.store, id).await
    }

    /// Saves `input` over the stored version `version`.
    async fn save_over(
        &self,
        caller: &Caller,
        id: &str,
        version: i64,
        input: &WorkflowInput,
    ) -> Result<WorkflowRecord, AppError> {
        let write = self.prepare(input, &caller.actor).await?;
        self.write_over(id, version, &write).await
    }

    /// Writes `write` over the stored version `version`.
    async fn write_over(
        &self,
        id: &str,
        version: i64,
        write: &WorkflowWrite,
    ) -> Result<WorkflowRecord, AppError> {
        match self
            .store
            .update_workflow(id, version, write)
            .await
            .map_err(store_error)?
        {
            WorkflowUpdate::Saved(record) => Ok(record),
            WorkflowUpdate::NotFound => {
                Err(AppError::not_found(format!("There is no workflow {id}.")))
            }
            WorkflowUpdate::Conflict { current, by } => Err(AppError::conflict(format!(
                "{by} saved this workflow (version {current}) after you opened version {version}. \
                 Your changes are not saved: reload to see theirs, then make yours again."
            ))),
        }
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
impl WorkflowService for Workflows {
    async fn list(
        &self,
        caller: &Caller,
        search: Option<&str>,
    ) -> Result<Vec<WorkflowView>, AppError> {
        require(Some(caller), Permission::Read)?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        let records = self.store.list_workflows(search).await.map_err(internal)?;
        records.iter().map(view).collect()
    }

    async fn get(&self, caller: &Caller, id: &str) -> Result<WorkflowView, AppError> {
        require(Some(caller), Permission::Read)?;
        view(&self.existing(id).await?)
    }

    async fn create(
        &self,
        caller: &Caller,
        input: WorkflowInput,
        ip: &str,
    ) -> Result<WorkflowView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let write = self.prepare(&input, &caller.actor).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let record = self
            .store
            .insert_workflow(&id, &write)
            .await
            .map_err(store_error)?;
        self.audit(
            caller,
            "workflow.create",
            &record.name,
            json!({ "id": id, "trigger": record.trigger_type, "steps": input.steps.len() }),
            ip,
        )
        .await?;
        view(&record)
    }

    async fn update(
        &self,
        caller: &Caller,
        id: &str,
        version: i64,
        input: WorkflowInput,
        ip: &str,
    ) -> Result<WorkflowView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let record = self.save_over(caller, id, version, &input).await?;
        self.audit(
            caller,
            "workflow.save",
            &record.name,
            json!({ "id": id, "version": record.version, "steps": input.steps.len() }),
            ip,
        )
        .await?;
        view(&record)
    }

    async fn set_enabled(
        &self,
        caller: &Caller,
        id: &str,
        enabled: bool,
        ip: &str,
    ) -> Result<WorkflowView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let record = self.existing(id).await?;
        let mut input = input_of(&record)?;
        input.enabled = enabled;
        // A toggle is a save of its own (a new version), so a canvas open elsewhere cannot
        // silently switch it back. Enabling checks the workflow against the connectors as they
        // are now; disabling does not: it is the emergency stop, and a workflow that no longer
        // passes (a connector changed under it) is one to be able to stop.
        let record = if enabled {
            self.save_over(caller, id, record.version, &input).await?
        } else {
            let write = write_of(&input, &caller.actor)?;
            self.write_over(id, record.version, &write).await?
        };
        let action = if enabled {
            "workflow.enable"
        } else {
            "workflow.disable"
        };
        self.audit(
            caller,
            action,
            &record.name,
            json!({ "id": id, "version": record.version }),
            ip,
        )
        .await?;
        view(&record)
    }

    async fn duplicate(
        &self,
        caller: &Caller,
        id: &str,
        ip: &str,
    ) -> Result<WorkflowView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let original = self.existing(id).await?;
        let mut input = input_of(&original)?;
        input.name = format!("Copy of {}", original.name)
            .chars()
            .take(100)
            .collect();
        // A copy starts disabled, so it does not fire twice for one event.
        input.enabled = false;
        let created = self.create(caller, input, ip).await?;
        self.audit(
            caller,
            "workflow.duplicate",
            &created.name,
            json!({ "id": created.id, "from": id }),
            ip,
        )
        .await?;
        Ok(created)
    }

    async fn delete(&self, caller: &Caller, id: &str, ip: &str) -> Result<(), AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let record = self.existing(id).await?;
        self.store.delete_workflow(id).await.map_err(internal)?;
        self.audit(
            caller,
            "workflow.delete",
            &record.name,
            json!({ "id": id }),
            ip,
        )
        .await
    }

    async fn versions(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Vec<WorkflowVersionView>, AppError> {
        require(Some(caller), Permission::Read)?;
        self.existing(id).await?;
        let versions = self.store.workflow_versions(id).await.map_err(internal)?;
        versions
            .into_iter()
            .map(|v| {
                let definition: Definition =
                    serde_json::from_str(&v.definition).map_err(internal)?;
                Ok(WorkflowVersionView {
                    version: v.version,
                    name: v.name,
                    enabled: v.enabled,
                    steps: definition.steps.len(),
                    saved_by: v.saved_by,
                    saved_at: v.saved_at,
                })
            })
            .collect()
    }

    async fn schedule_preview(
        &self,
        caller: &Caller,
        cron: &str,
        timezone: &str,
    ) -> Result<Vec<String>, AppError> {
        require(Some(caller), Permission::Read)?;
        let mut errors = domain::connector::FieldErrors::default();
        let schedule = domain::cron::CronSchedule::parse(cron)
            .map_err(|e| errors.add("trigger.cron", e))
            .ok();
        let tz = crate::schedule::time_zone(timezone)
            .map_err(|e| errors.add("trigger.timezone", e))
            .ok();
        let (Some(schedule), Some(tz)) = (schedule, tz) else {
            return Err(AppError::fields(errors));
        };
        Ok(
            crate::schedule::next_times(&schedule, tz, chrono::Utc::now(), 5)
                .into_iter()
                .map(|t| {
                    format!(
                        "{} ({} UTC)",
                        t.format("%a %Y-%m-%d %H:%M %Z"),
                        t.with_timezone(&chrono::Utc).format("%H:%M")
                    )
                })
                .collect(),
        )
    }

    async fn restore(
        &self,
        caller: &Caller,
        id: &str,
        version: i64,
        open: Option<i64>,
        ip: &str,
    ) -> Result<WorkflowView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let current = self.existing(id).await?;
        let over = open.unwrap_or(current.version);
        let old = self
            .store
            .workflow_version(id, version)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                AppError::not_found(format!("Workflow {id} has no version {version}."))
            })?;
        let definition = Definition::parse(id, &old.definition).map_err(internal)?;
        let input = WorkflowInput {
            name: old.name,
            description: old.description,
            enabled: old.enabled,
            trigger: definition.trigger,
            steps: definition.steps,
        };
        let record = self.save_over(caller, id, over, &input).await?;
        self.audit(
            caller,
            "workflow.restore",
            &record.name,
            json!({ "id": id, "restored": version, "version": record.version }),
            ip,
        )
        .await?;
        view(&record)
    }
}

fn input_of(record: &WorkflowRecord) -> Result<WorkflowInput, AppError> {
    let definition = Definition::parse(&record.id, &record.definition).map_err(internal)?;
    Ok(WorkflowInput {
        name: record.name.clone(),
        description: record.description.clone(),
        enabled: record.enabled,
        trigger: definition.trigger,
        steps: definition.steps,
    })
}

fn view(record: &WorkflowRecord) -> Result<WorkflowView, AppError> {
    let input = input_of(record)?;
    Ok(WorkflowView {
        id: record.id.clone(),
        name: input.name,
        description: input.description,
        enabled: input.enabled,
        trigger: input.trigger,
        steps: input.steps,
        version: record.version,
        created_at: record.created_at,
        updated_at: record.updated_at,
        updated_by: record.updated_by.clone(),
    })
}

fn store_error(error: StoreError) -> AppError {
    match error {
        StoreError::Conflict { .. } => AppError::conflict(
            "A connector this workflow uses was deleted meanwhile. Select another connector, then save again."
                .into(),
        ),
        other => internal(other),
    }
}

fn internal(error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "workflow service failed");
    AppError::Internal
}

/// The row to write for `input`, as it is: [`Workflows::prepare`] validates first.
fn write_of(input: &WorkflowInput, actor: &str) -> Result<WorkflowWrite, AppError> {
    let definition = serde_json::to_string(&Definition {
        trigger: input.trigger.clone(),
        steps: input.steps.clone(),
    })
    .map_err(internal)?;
    Ok(WorkflowWrite {
        name: input.name.trim().to_owned(),
        description: input.description.trim().to_owned(),
        enabled: input.enabled,
        trigger_type: serde_json::to_value(input.trigger.kind())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        definition,
        connector_ids: input.connector_ids(),
        actor: actor.to_owned(),
    })
}
