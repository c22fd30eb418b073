//! Triggers that start runs by themselves: signed webhooks (`POST /hooks/{token}`), directory
//! events (`POST /api/v2/events`) and schedules. Each queues its runs in the same transaction as
//! the claim that makes it happen once: an `Idempotency-Key`, an event id, a schedule tick.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use app::auth::AppError;
use app::auth::service::require;
use app::triggers::WebhookView;
use app::triggers::service::TriggerService;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use domain::connector::is_credential_name;
use domain::cron::CronSchedule;
use domain::decode::check_json_depth;
use domain::filter::EventFilter;
use domain::plan::REDACTED;
use domain::workflow::{Trigger, check_event_type};
use domain::{Caller, Permission};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::access::secrets::{fill_random, sha256_hex};
use crate::runs::{Runs, new_run};
use crate::schedule::{next_times, time_zone};
use crate::storage::{
    EventQueued, EventToQueue, RunRecord, Store, StoreError, WebhookQueued, WebhookRecord,
    WorkflowRecord,
};
use crate::vault::Vault;
use crate::workflows::Definition;

/// The vault fields a webhook's values are sealed under (the record is the workflow id).
pub const TOKEN_FIELD: &str = "webhook_token";
pub const SECRET_FIELD: &str = "webhook_signing_secret";

/// The header carrying `sha256=<hex HMAC-SHA256>` of the body.
pub const SIGNATURE_HEADER: &str = "x-switchboard-signature";
/// The optional header carrying the Unix time (seconds) the call was signed at; when present it
/// is signed too (`v1:<timestamp>:<body>`) and must be within [`SIGNATURE_TOLERANCE`] of now.
pub const TIMESTAMP_HEADER: &str = "x-switchboard-timestamp";
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The most events one `POST /api/v2/events` may carry.
pub const MAX_EVENTS_PER_BATCH: usize = 1000;

/// How triggers behave.
#[derive(Debug, Clone)]
pub struct TriggerConfig {
    /// The largest webhook body accepted; larger → 413.
    pub webhook_max_body: usize,
    /// How often the scheduler looks for due ticks.
    pub schedule_poll: Duration,
    pub public_url: Option<String>,
}

impl Default for TriggerConfig {
    fn default() -> TriggerConfig {
        TriggerConfig {
            webhook_max_body: 1024 * 1024,
            schedule_poll: Duration::from_secs(5),
            public_url: None,
        }
    }
}

#[derive(Clone)]
pub struct Triggers {
    store: Store,
    vault: Vault,
    runs: Runs,
    pub config: std::sync::Arc<TriggerConfig>,
}

/// Why a webhook call was refused: the status and the message the caller gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRefusal {
    pub status: u16,
    pub message: String,
}

impl HookRefusal {
    fn new(status: u16, message: impl Into<String>) -> HookRefusal {
        HookRefusal {
            status,
            message: message.into(),
        }
    }

    fn not_found() -> HookRefusal {
        HookRefusal::new(404, "There is no webhook at this address.")
    }

    fn internal() -> HookRefusal {
        HookRefusal::new(
            500,
            "The server could not queue this call; nothing was started. Try again.",
        )
    }
}

/// A webhook call as received.
pub struct HookCall<'a> {
    pub token: &'a str,
    /// Header names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

/// A webhook call accepted: its run, and whether it was an idempotent replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAccepted {
    pub run_id: String,
    pub replayed: bool,
}

/// What `POST /api/v2/events` did with one event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventOutcome {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// Received within the last day already: nothing new was started.
    pub duplicate: bool,
    pub runs: Vec<StartedRun>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StartedRun {
    pub workflow_id: String,
    pub run_id: String,
}

fn internal(error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "trigger service failed");
    AppError::Internal
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn definition_of(workflow: &WorkflowRecord) -> Option<Definition> {
    Definition::parse(&workflow.id, &workflow.definition).ok()
}

impl Triggers {
    pub fn new(store: Store, vault: Vault, runs: Runs, config: TriggerConfig) -> Triggers {
        Triggers {
            store,
            vault,
            runs,
            config: std::sync::Arc::new(config),
        }
    }

    /// A webhook workflow, for its pane: found, and of the webhook kind.
    async fn webhook_workflow(&self, workflow_id: &str) -> Result<WorkflowRecord, AppError> {
        let workflow = crate::workflows::existing(&self.store, workflow_id).await?;
        if workflow.trigger_type != "webhook" {
            return Err(AppError::conflict(format!(
                "Workflow “{}” is not started by a webhook.",
                workflow.name
            )));
        }
        Ok(workflow)
    }

    /// Records a change to a workflow's webhook (never its values).
    async fn audit_webhook(
        &self,
        caller: &Caller,
        action: &str,
        workflow: &WorkflowRecord,
        ip: &str,
    ) -> Result<(), AppError> {
        self.store
            .audit_by(
                caller,
                action,
                &workflow.name,
                json!({ "workflow_id": workflow.id }),
                ip,
            )
            .await
            .map_err(internal)
    }

    /// A new URL token for a workflow: its SHA-256 (to find the workflow by) and its sealed form.
    fn new_sealed_token(&self, workflow_id: &str) -> (String, String) {
        let token = SecretString::from(new_token());
        let sealed = self.vault.encrypt(&token, workflow_id, TOKEN_FIELD);
        (sha256_hex(token.expose_secret()), sealed)
    }

    async fn view(&self, workflow_id: &str) -> Result<WebhookView, AppError> {
        let mut stored = self.store.webhook(workflow_id).await.map_err(internal)?;
        if stored.is_none() {
            let (hash, sealed) = self.new_sealed_token(workflow_id);
            // A concurrent first view may win; either way one token is stored.
            self.store
                .insert_webhook(workflow_id, &hash, &sealed, self.vault.key_version)
                .await
                .map_err(internal)?;
            stored = self.store.webhook(workflow_id).await.map_err(internal)?;
        }
        let stored = stored.ok_or(AppError::Internal)?;
        let token = self
            .vault
            .decrypt(&stored.token_ciphertext, workflow_id, TOKEN_FIELD)
            .map_err(internal)?;
        Ok(WebhookView {
            path: format!("/hooks/{}", token.expose_secret()),
            public_url: self.config.public_url.clone(),
            has_secret: stored.secret_ciphertext.is_some(),
            rotated_at: stored.rotated_at,
        })
    }

    /// Handles `POST /hooks/{token}`: finds the workflow, checks the signature, and queues a run
    /// with `{"body", "headers", "query"}` as its input.
    /// The webhook at `token` and its workflow, if it takes calls (a disabled workflow answers
    /// as if it did not exist). Looked up before the body is read: a call to no webhook costs
    /// no more than its headers.
    pub async fn find_webhook(
        &self,
        token: &str,
    ) -> Result<Arc<(WebhookRecord, WorkflowRecord)>, HookRefusal> {
        let plausible = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !plausible {
            return Err(HookRefusal::not_found());
        }
        let found = match self.store.webhook_by_token(&sha256_hex(token)).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err(HookRefusal::not_found()),
            Err(error) => {
                tracing::error!(%error, "looking up a webhook failed");
                return Err(HookRefusal::internal());
            }
        };
        let (_, workflow) = found.as_ref();
        if !workflow.enabled || workflow.trigger_type != "webhook" {
            return Err(HookRefusal::not_found());
        }
        Ok(found)
    }

    /// A call to the webhook [`Triggers::find_webhook`] found: checks its signature and queues
    /// its run.
    pub async fn receive_webhook(
        &self,
        found: &(WebhookRecord, WorkflowRecord),
        call: HookCall<'_>,
    ) -> Result<HookAccepted, HookRefusal> {
        let (hook, workflow) = found;
        let header = |name: &str| {
            call.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if let Some(sealed) = &hook.secret_ciphertext {
            let secret = self
                .vault
                .decrypt(sealed, &workflow.id, SECRET_FIELD)
                .map_err(|error| {
                    tracing::error!(%error, workflow_id = %workflow.id, "cannot open a signing secret");
                    HookRefusal::internal()
                })?;
            verify_signature(
                secret.expose_secret().as_bytes(),
                call.body,
                header(SIGNATURE_HEADER),
                header(TIMESTAMP_HEADER),
                Utc::now().timestamp(),
            )
            .map_err(|message| {
                tracing::info!(workflow_id = %workflow.id, reason = %message, "webhook call refused: signature");
                HookRefusal::new(401, message)
            })?;
        }
        let body: Value = if call.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(call.body).map_err(|e| {
                HookRefusal::new(
                    400,
                    format!("The body is not JSON ({e}). Send a JSON document, e.g. {{\"actor\": {{\"email\": \"…\"}}}}."),
                )
            })?
        };
        check_json_depth(&body, "The body").map_err(|message| HookRefusal::new(400, message))?;
        domain::decode::check_exact_integers(&String::from_utf8_lossy(call.body), "The body")
            .map_err(|message| HookRefusal::new(400, message))?;
        let input = json!({
            "body": body,
            "headers": visible_headers(&call.headers, call.token),
            "query": visible_query(call.query.unwrap_or(""), call.token),
        });
        let run = new_run(workflow, &input, "webhook").map_err(|_| HookRefusal::internal())?;
        let key = header("idempotency-key");
        let queued = match key {
            None => self
                .runs
                .queue("webhook", run)
                .await
                .map(|run| WebhookQueued::Started(Box::new(run))),
            Some(key) => {
                if key.is_empty() || key.len() > 255 {
                    return Err(HookRefusal::new(
                        400,
                        "The Idempotency-Key header must hold 1 to 255 characters.",
                    ));
                }
                let body_hash = hex(&Sha256::digest(call.body));
                let queued = self.store.queue_webhook_run(&run, key, &body_hash).await;
                if let Ok(WebhookQueued::Started(_)) = &queued {
                    self.runs.queued("webhook", 1);
                }
                queued
            }
        };
        match queued {
            Ok(WebhookQueued::Started(run)) => Ok(HookAccepted {
                run_id: run.id,
                replayed: false,
            }),
            Ok(WebhookQueued::Replayed {
                run_id,
                same_body: true,
            }) => Ok(HookAccepted {
                run_id,
                replayed: true,
            }),
            Ok(WebhookQueued::Replayed {
                same_body: false, ..
            }) => Err(HookRefusal::new(
                422,
                "This Idempotency-Key was used in the last 24 hours with a different body. Use a new key for a new request.",
            )),
            // The workflow was deleted between the look-up and the insert: as if it never was.
            Err(error) if error.is_missing_reference() => Err(HookRefusal::not_found()),
            Err(error) => {
                tracing::error!(%error, "queuing a webhook run failed");
                Err(HookRefusal::internal())
            }
        }
    }

    /// The enabled Event workflows, with the type and parsed filter each listens for.
    async fn event_listeners(
        &self,
    ) -> Result<Vec<(WorkflowRecord, String, EventFilter)>, AppError> {
        let workflows = self
            .store
            .enabled_workflows_of("event")
            .await
            .map_err(internal)?;
        Ok(workflows
            .into_iter()
            .filter_map(|w| match definition_of(&w)?.trigger {
                Trigger::Event {
                    event_type, filter, ..
                } => {
                    match EventFilter::parse(&filter) {
                        Ok(filter) => Some((w, event_type.trim().to_owned(), filter)),
                        Err(error) => {
                            tracing::warn!(workflow_id = %w.id, %error, "an Event workflow's filter does not parse: it gets no events until it is fixed and saved");
                            None
                        }
                    }
                }
                _ => None,
            })
            .collect())
    }

    /// Handles `POST /api/v2/events`: one event or an array of them. Every event is checked
    /// before any is queued; each then starts a run of every enabled Event workflow whose type
    /// and filter match, unless its id was received within the last day.
    pub async fn receive_events(
        &self,
        caller: &Caller,
        body: Value,
        ip: &str,
    ) -> Result<Vec<EventOutcome>, AppError> {
        require(Some(caller), Permission::RunWorkflows)?;
        let events = match body {
            Value::Array(events) => events,
            event @ Value::Object(_) => vec![event],
            _ => {
                return Err(AppError::invalid(
                    "events",
                    "Send one event as a JSON object, or several as an array of them.",
                ));
            }
        };
        if events.is_empty() || events.len() > MAX_EVENTS_PER_BATCH {
            return Err(AppError::invalid(
                "events",
                format!("Send 1 to {MAX_EVENTS_PER_BATCH} events at a time."),
            ));
        }
        let mut checked = Vec::with_capacity(events.len());
        for (i, mut event) in events.into_iter().enumerate() {
            let which = || {
                if i == 0 {
                    "The event".to_owned()
                } else {
                    format!("Event {}", i + 1)
                }
            };
            check_json_depth(&event, &which())
                .map_err(|message| AppError::invalid("events", message))?;
            let Some(object) = event.as_object_mut() else {
                return Err(AppError::invalid(
                    "events",
                    format!("{} is not a JSON object.", which()),
                ));
            };
            let event_type = match object.get("type") {
                Some(Value::String(t)) if check_event_type(t).is_ok() => t.trim().to_owned(),
                _ => {
                    return Err(AppError::invalid(
                        "type",
                        format!(
                            "{} needs a \"type\" such as \"user.activated\" (lowercase dotted words).",
                            which()
                        ),
                    ));
                }
            };
            let id = match object.get("id") {
                None | Some(Value::Null) => {
                    let id = uuid::Uuid::now_v7().to_string();
                    object.insert("id".into(), Value::String(id.clone()));
                    id
                }
                Some(Value::String(id)) if !id.is_empty() && id.len() <= 200 => id.clone(),
                _ => {
                    return Err(AppError::invalid(
                        "id",
                        format!(
                            "{}'s \"id\" must be a string of 1 to 200 characters (or left out).",
                            which()
                        ),
                    ));
                }
            };
            checked.push((id, event_type, event));
        }

        let listeners = self.event_listeners().await?;
        let mut batch = Vec::with_capacity(checked.len());
        for (id, event_type, event) in checked {
            let runs = listeners
                .iter()
                .filter(|(_, wanted, filter)| *wanted == event_type && filter.matches(&event))
                .map(|(workflow, _, _)| new_run(workflow, &event, &caller.actor))
                .collect::<Result<Vec<_>, _>>()?;
            batch.push(EventToQueue {
                id,
                event_type,
                runs,
            });
        }
        // One transaction: all of the batch is queued or none of it. A listening workflow
        // deleted meanwhile is skipped by the store, not an error.
        let queued = self
            .store
            .queue_event_batch(&batch)
            .await
            .map_err(internal)?;
        let mut started = 0usize;
        let outcomes: Vec<EventOutcome> = batch
            .into_iter()
            .zip(queued)
            .map(|(event, queued)| match queued {
                EventQueued::Started(runs) => {
                    started += runs.len();
                    EventOutcome {
                        id: event.id,
                        event_type: event.event_type,
                        duplicate: false,
                        runs: runs.iter().map(started_run).collect(),
                    }
                }
                EventQueued::Duplicate(runs) => EventOutcome {
                    id: event.id,
                    event_type: event.event_type,
                    duplicate: true,
                    runs: runs
                        .into_iter()
                        .map(|(workflow_id, run_id)| StartedRun {
                            workflow_id,
                            run_id,
                        })
                        .collect(),
                },
            })
            .collect();
        self.runs.queued("event", started);
        let duplicates = outcomes.iter().filter(|o| o.duplicate).count();
        // The runs are committed: failing the call now would have a sender that retries (events
        // without ids are not recognised again) start them all twice. The entry is logged instead.
        if let Err(error) = self
            .store
            .audit_by(
                caller,
                "events.received",
                &format!("{} events", outcomes.len()),
                json!({ "count": outcomes.len(), "duplicates": duplicates, "runs_started": started }),
                ip,
            )
            .await
        {
            tracing::error!(%error, events = outcomes.len(), runs_started = started, "the audit entry for received events could not be written; the runs are queued");
        }
        Ok(outcomes)
    }

    /// Starts the scheduler: every poll, each due tick is claimed and its run queued. Stops when
    /// `stopped` turns true.
    pub fn start_scheduler(
        &self,
        mut stopped: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let triggers = self.clone();
        tokio::spawn(async move {
            // The last poll that reached the database: this server has run since.
            let mut polled = None;
            loop {
                let now = Utc::now();
                match triggers.fire_due_polled(now, polled).await {
                    Ok(_) => polled = Some(now),
                    Err(error) => {
                        tracing::warn!(%error, "the scheduler could not check its workflows");
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(triggers.config.schedule_poll) => {}
                    _ = stopped.changed() => {}
                }
                if *stopped.borrow() {
                    break;
                }
            }
        })
    }

    /// How late a tick may be found and still count as on time: a minute, or two polls when
    /// polls are further apart. A later one came while every server was down.
    fn on_time(&self) -> chrono::TimeDelta {
        let polls = chrono::TimeDelta::from_std(self.config.schedule_poll * 2)
            .unwrap_or(chrono::TimeDelta::MAX)
            + chrono::TimeDelta::seconds(5);
        polls.max(chrono::TimeDelta::seconds(60))
    }

    /// Claims and queues every tick due at `now`; returns how many runs were queued. Each
    /// workflow's latest tick since its last claimed one (or since it was saved, less the on-time
    /// window, so a save just after a tick does not hide it) is considered: found on time it
    /// fires; found later, every server was down when it came, and it fires only with *catch up*
    /// (else it is recorded as skipped). A failure on one workflow is logged and the others go on.
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.fire_due_polled(now, None).await
    }

    /// [`Triggers::fire_due`] by a scheduler whose last poll that reached the database was at
    /// `polled`. A tick that came after it came while this server ran, so it is not late however
    /// long the database was away: it fires (once, the latest, as after any gap).
    pub async fn fire_due_polled(
        &self,
        now: DateTime<Utc>,
        polled: Option<DateTime<Utc>>,
    ) -> Result<usize, StoreError> {
        let window = self.on_time();
        let mut fired = 0;
        for scheduled in self.store.scheduled_workflows().await? {
            let workflow = &scheduled.workflow;
            let Some(Trigger::Schedule {
                cron,
                timezone,
                catch_up,
            }) = definition_of(workflow).map(|d| d.trigger)
            else {
                tracing::warn!(workflow_id = %workflow.id, "a scheduled workflow's definition does not parse");
                continue;
            };
            let (Ok(schedule), Ok(tz)) = (CronSchedule::parse(&cron), time_zone(&timezone)) else {
                tracing::warn!(workflow_id = %workflow.id, "a scheduled workflow's cron expression or time zone is invalid: it does not fire until it is fixed and saved");
                continue;
            };
            let since = scheduled
                .last_tick
                .unwrap_or(i64::MIN)
                .max(workflow.updated_at - window.num_milliseconds());
            let Some(since) = DateTime::<Utc>::from_timestamp_millis(since) else {
                continue;
            };
            let Some(tick) = latest_tick(&schedule, tz, since, now) else {
                continue;
            };
            let at = tick.with_timezone(&Utc);
            let on_time = now - at <= window || polled.is_some_and(|polled| at >= polled);
            let run = if on_time || catch_up {
                let input = json!({ "scheduled_at": tick.to_rfc3339() });
                match new_run(workflow, &input, "schedule") {
                    Ok(run) => Some(run),
                    Err(_) => continue,
                }
            } else {
                None
            };
            let claimed = match self
                .store
                .claim_tick(&workflow.id, tick.timestamp_millis(), run.as_ref())
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(workflow_id = %workflow.id, %error, "claiming a schedule tick failed; the next poll tries again");
                    continue;
                }
            };
            match (&run, claimed) {
                (Some(run), true) => {
                    fired += 1;
                    self.runs.queued("schedule", 1);
                    tracing::info!(workflow_id = %workflow.id, run_id = %run.id, tick = %tick, "schedule fired");
                }
                (None, true) => {
                    tracing::info!(workflow_id = %workflow.id, tick = %tick, "a tick missed while no server was running was skipped (catch up is off)");
                }
                _ => {}
            }
        }
        Ok(fired)
    }
}

fn started_run(run: &RunRecord) -> StartedRun {
    StartedRun {
        workflow_id: run.workflow_id.clone(),
        run_id: run.id.clone(),
    }
}

/// The last time in `(after, now]` the schedule fires, searching back at most about two years.
fn latest_tick(
    schedule: &CronSchedule,
    tz: chrono_tz::Tz,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<chrono_tz::Tz>> {
    const BATCH: usize = 64;
    for span in [
        chrono::TimeDelta::hours(2),
        chrono::TimeDelta::days(3),
        chrono::TimeDelta::days(70),
        chrono::TimeDelta::days(800),
    ] {
        let from = (now - span).max(after);
        let mut last = None;
        let mut cursor = from;
        'scan: loop {
            let batch = next_times(schedule, tz, cursor, BATCH);
            let full = batch.len() == BATCH;
            let before = cursor;
            for &t in &batch {
                if t.with_timezone(&Utc) > now {
                    break 'scan;
                }
                // Around a daylight-saving change a local time can map before `after`.
                if t.with_timezone(&Utc) <= after {
                    continue;
                }
                cursor = t.with_timezone(&Utc);
                last = Some(t);
            }
            if !full {
                break;
            }
            // Inside a repeated hour a repeated local time is taken at its first instance, before
            // the cursor: a whole batch of those moved nothing (a per-minute schedule in a zone
            // that repeats two hours, such as Antarctica/Troll). Go on from the last one's second
            // instance, so the scan always moves forward.
            if cursor == before {
                let later = batch.last().and_then(|t| {
                    tz.from_local_datetime(&t.naive_local())
                        .latest()
                        .map(|t| t.with_timezone(&Utc))
                });
                match later {
                    Some(later) if later > cursor => cursor = later,
                    _ => break,
                }
            }
        }
        if last.is_some() || from == after {
            return last;
        }
    }
    None
}

/// Checks `X-Switchboard-Signature: sha256=<hex>` over the body, or over `v1:<timestamp>:<body>`
/// when `X-Switchboard-Timestamp` is sent (which must then be within five minutes of `now`).
pub fn verify_signature(
    secret: &[u8],
    body: &[u8],
    signature: Option<&str>,
    timestamp: Option<&str>,
    now: i64,
) -> Result<(), String> {
    let signature = signature.ok_or(
        "This webhook needs a signature: send X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the body with the signing secret>.",
    )?;
    let given = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(unhex)
        .ok_or("X-Switchboard-Signature must be sha256= followed by 64 hex digits.")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| e.to_string())?;
    if let Some(timestamp) = timestamp {
        let at: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| "X-Switchboard-Timestamp must be a Unix time in seconds.")?;
        if now.abs_diff(at) > SIGNATURE_TOLERANCE.as_secs() {
            return Err(
                "X-Switchboard-Timestamp is more than 5 minutes away from the server's clock: sign the call again now."
                    .into(),
            );
        }
        // `v1:<timestamp>:` is not the start of any JSON document, so a signature over a
        // timestamped call can never pass as the signature of an untimestamped body.
        mac.update(b"v1:");
        mac.update(timestamp.trim().as_bytes());
        mac.update(b":");
    }
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| {
        "The signature does not match the body and this webhook's signing secret.".to_owned()
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The request headers a run's input holds (lower-case names, repeated ones joined with ", "):
/// not those whose names look like credentials or signatures ([`is_credential_name`]:
/// `Authorization`, `X-Gitlab-Token`, `Stripe-Signature`, Switchboard's own signature…), and the
/// webhook's token masked wherever a value repeats it (a proxy's `X-Original-URI`): Read-only
/// users see run inputs, and the token lets anyone start runs.
fn visible_headers(headers: &[(String, String)], token: &str) -> Value {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        if is_credential_name(name) {
            continue;
        }
        let value = mask_token(value, token);
        out.entry(name.clone())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    Value::Object(
        out.into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

/// The webhook's token masked in a value that repeats it.
fn mask_token(value: &str, token: &str) -> String {
    if token.is_empty() {
        value.to_owned()
    } else {
        value.replace(token, REDACTED)
    }
}

/// Query parameters as an object: one value is a string, a repeated name an array of strings.
/// Names that look like credentials are left out and the webhook's token is masked, as for
/// headers ([`visible_headers`]).
fn visible_query(query: &str, token: &str) -> Value {
    let mut out = Map::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if is_credential_name(&name) {
            continue;
        }
        let value = Value::String(mask_token(&value, token));
        match out.get_mut(name.as_ref()) {
            None => {
                out.insert(name.into_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => {
                let first = first.take();
                out.insert(name.into_owned(), Value::Array(vec![first, value]));
            }
        }
    }
    Value::Object(out)
}

#[async_trait]
impl TriggerService for Triggers {
    async fn webhook(&self, caller: &Caller, workflow_id: &str) -> Result<WebhookView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        self.webhook_workflow(workflow_id).await?;
        self.view(workflow_id).await
    }

    async fn regenerate_webhook(
        &self,
        caller: &Caller,
        workflow_id: &str,
        ip: &str,
    ) -> Result<WebhookView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let workflow = self.webhook_workflow(workflow_id).await?;
        self.view(workflow_id).await?;
        let (hash, sealed) = self.new_sealed_token(workflow_id);
        self.store
            .rotate_webhook_token(workflow_id, &hash, &sealed, self.vault.key_version)
            .await
            .map_err(internal)?;
        self.audit_webhook(caller, "webhook.token_regenerated", &workflow, ip)
            .await?;
        self.view(workflow_id).await
    }

    async fn set_webhook_secret(
        &self,
        caller: &Caller,
        workflow_id: &str,
        secret: Option<String>,
        ip: &str,
    ) -> Result<WebhookView, AppError> {
        require(Some(caller), Permission::ManageAutomation)?;
        let workflow = self.webhook_workflow(workflow_id).await?;
        if let Some(secret) = &secret {
            let n = secret.chars().count();
            if !(16..=256).contains(&n) || secret.chars().any(char::is_control) {
                return Err(AppError::invalid(
                    "secret",
                    "Use 16 to 256 characters without line breaks, e.g. the output of openssl rand -hex 32.",
                ));
            }
        }
        self.view(workflow_id).await?;
        let sealed = secret
            .map(SecretString::from)
            .map(|s| self.vault.encrypt(&s, workflow_id, SECRET_FIELD));
        self.store
            .set_webhook_secret(workflow_id, sealed.as_deref(), self.vault.key_version)
            .await
            .map_err(internal)?;
        let action = if sealed.is_some() {
            "webhook.secret_set"
        } else {
            "webhook.secret_removed"
        };
        self.audit_webhook(caller, action, &workflow, ip).await?;
        self.view(workflow_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, payload: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(payload);
        format!("sha256={}", hex(&mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures_over_the_body_or_the_timestamp_and_body() {
        let secret = "0123456789abcdef-secret";
        let body = br#"{"a":1}"#;
        let good = sign(secret, body);
        assert_eq!(
            verify_signature(secret.as_bytes(), body, Some(&good), None, 0),
            Ok(())
        );
        assert!(verify_signature(secret.as_bytes(), b"{\"a\":2}", Some(&good), None, 0).is_err());
        assert!(verify_signature(b"another-secret-000", body, Some(&good), None, 0).is_err());
        assert!(
            verify_signature(secret.as_bytes(), body, None, None, 0)
                .unwrap_err()
                .contains("needs a signature")
        );
        assert!(
            verify_signature(secret.as_bytes(), body, Some("md5=abc"), None, 0)
                .unwrap_err()
                .contains("64 hex digits")
        );
        let now = 1_800_000_000;
        let stamped = sign(secret, format!("v1:{now}:{{\"a\":1}}").as_bytes());
        let ts = now.to_string();
        assert_eq!(
            verify_signature(
                secret.as_bytes(),
                body,
                Some(&stamped),
                Some(&ts),
                now + 299
            ),
            Ok(())
        );
        assert!(
            verify_signature(
                secret.as_bytes(),
                body,
                Some(&stamped),
                Some(&ts),
                now + 301
            )
            .unwrap_err()
            .contains("5 minutes")
        );
        assert!(
            verify_signature(
                secret.as_bytes(),
                body,
                Some(&stamped),
                Some(&ts),
                now - 301
            )
            .is_err()
        );
        // The timestamp is signed: the body's signature alone does not pass with one.
        assert!(verify_signature(secret.as_bytes(), body, Some(&good), Some(&ts), now).is_err());
    }

    #[test]
    fn credentials_and_the_signature_are_not_passed_on() {
        let token = "ab12".repeat(16);
        let headers = [
            ("content-type", "application/json"),
            ("authorization", "Bearer x"),
            ("cookie", "a=b"),
            (SIGNATURE_HEADER, "sha256=…"),
            ("x-gitlab-token", "glt"),
            ("x-hub-signature-256", "sha256=…"),
            ("x-auth-token", "t"),
            ("x-original-uri", &format!("/hooks/{token}?a=1")),
            ("x-trace", "1"),
            ("x-trace", "2"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            visible_headers(&headers, &token),
            json!({
                "content-type": "application/json",
                "x-original-uri": "/hooks/[REDACTED]?a=1",
                "x-trace": "1, 2",
            })
        );
    }

    #[test]
    fn query_parameters_become_strings_or_arrays() {
        assert_eq!(
            visible_query("a=1&b=x%20y&a=2&c=", "tok"),
            json!({ "a": ["1", "2"], "b": "x y", "c": "" })
        );
        assert_eq!(visible_query("", "tok"), json!({}));
        // Credentials left out, the token masked.
        assert_eq!(
            visible_query(
                "token=s1&access_token=s2&api_key=s3&sig=s4&next=%2Fhooks%2Ftok",
                "tok"
            ),
            json!({ "next": "/hooks/[REDACTED]" })
        );
    }

    #[test]
    fn the_latest_tick_before_now() {
        let schedule = CronSchedule::parse("*/15 * * * *").unwrap();
        let tz = time_zone("UTC").unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let tick = latest_tick(
            &schedule,
            tz,
            at("2026-11-20T08:00:00Z"),
            at("2026-11-23T09:20:00Z"),
        );
        assert_eq!(tick.unwrap().to_rfc3339(), "2026-11-23T09:15:00+00:00");
        // Nothing after `after`.
        assert!(
            latest_tick(
                &schedule,
                tz,
                at("2026-11-23T09:15:00Z"),
                at("2026-11-23T09:20:00Z")
            )
            .is_none()
        );
        // A yearly schedule found months back.
        let yearly = CronSchedule::parse("0 0 1 1 *").unwrap();
        let tick = latest_tick(
            &yearly,
            tz,
            at("2020-01-01T00:00:00Z"),
            at("2026-11-23T09:20:00Z"),
        );
        assert_eq!(tick.unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
    }

    #[test]
    fn a_repeated_two_hours_do_not_stall_the_scan() {
        // Antarctica/Troll falls back from +02 to +00 at 01:00 UTC on 2026-10-25: local 01:00 to
        // 02:59 happen twice. From the second 01:30 a per-minute schedule's next 64 local times
        // all map (first instance) to before `after`; the scan used to spin there for ever.
        let schedule = CronSchedule::parse("* * * * *").unwrap();
        let tz = time_zone("Antarctica/Troll").unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let tick = latest_tick(
            &schedule,
            tz,
            at("2026-10-25T01:30:00Z"),
            at("2026-10-25T03:30:00Z"),
        );
        assert_eq!(tick.unwrap().to_rfc3339(), "2026-10-25T03:30:00+00:00");
        // The repeated local times fired at their first instance: not again.
        let tick = latest_tick(
            &schedule,
            tz,
            at("2026-10-25T01:30:00Z"),
            at("2026-10-25T02:10:00Z"),
        );
        assert_eq!(tick, None);
    }
}
