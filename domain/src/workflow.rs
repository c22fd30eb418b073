//! Workflows: a trigger and a list of steps, stored as typed data (tagged enums as JSON). The
//! validation here runs in the browser as the admin edits and on the server before a save, so
//! both name the same step, field and fix.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::connector::{FieldErrors, HeaderInput, check_header_name, check_header_value};
use crate::endpoint::EndpointPath;
use crate::template::{check_json_body, placeholders};

/// What starts a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// Run by hand; `sample_input` feeds previews and is the default input.
    Manual {
        #[serde(default)]
        sample_input: serde_json::Value,
    },
    /// A directory event of `event_type`, optionally filtered.
    Event {
        event_type: String,
        #[serde(default)]
        filter: String,
        #[serde(default)]
        sample_input: serde_json::Value,
    },
    /// A cron expression in a time zone. With `catch_up`, a server starting after every replica
    /// was down runs the last tick it missed (only the last); without it, missed ticks are skipped.
    Schedule {
        cron: String,
        timezone: String,
        #[serde(default)]
        catch_up: bool,
    },
    /// An external call to the workflow's own URL (`POST /hooks/{token}`); the input is
    /// `{"body": …, "headers": {…}, "query": {…}}`.
    Webhook {
        #[serde(default = "webhook_sample")]
        sample_input: serde_json::Value,
    },
}

/// What a webhook's input looks like, for previews.
fn webhook_sample() -> serde_json::Value {
    serde_json::json!({
        "body": {
            "actor": { "email": "admin@example.com" },
            "target": { "email": "ada@example.com" }
        },
        "headers": { "content-type": "application/json" },
        "query": {}
    })
}

/// The kinds of trigger, as *New workflow* offers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    Manual,
    Event,
    Schedule,
    Webhook,
}

impl TriggerKind {
    pub const ALL: [TriggerKind; 4] = [
        TriggerKind::Manual,
        TriggerKind::Event,
        TriggerKind::Schedule,
        TriggerKind::Webhook,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TriggerKind::Manual => "Manual",
            TriggerKind::Event => "Event",
            TriggerKind::Schedule => "Scheduled",
            TriggerKind::Webhook => "Webhook",
        }
    }

    /// The trigger a new workflow of this kind starts with.
    pub fn default_trigger(self) -> Trigger {
        match self {
            TriggerKind::Manual => Trigger::Manual {
                sample_input: serde_json::json!({ "resource": { "username": "ada" } }),
            },
            TriggerKind::Event => Trigger::Event {
                event_type: "user.activated".into(),
                filter: String::new(),
                sample_input: serde_json::json!({
                    "type": "user.activated",
                    "resource": { "id": "u-1", "username": "ada", "email": "ada@example.com" },
                    "actor": { "email": "admin@example.com" }
                }),
            },
            TriggerKind::Schedule => Trigger::Schedule {
                cron: "0 9 * * 1-5".into(),
                timezone: "UTC".into(),
                catch_up: false,
            },
            TriggerKind::Webhook => Trigger::Webhook {
                sample_input: webhook_sample(),
            },
        }
    }
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Trigger::Manual { .. } => TriggerKind::Manual,
            Trigger::Event { .. } => TriggerKind::Event,
            Trigger::Schedule { .. } => TriggerKind::Schedule,
            Trigger::Webhook { .. } => TriggerKind::Webhook,
        }
    }

    /// The sample input previews render with.
    pub fn sample_input(&self) -> serde_json::Value {
        match self {
            Trigger::Manual { sample_input }
            | Trigger::Event { sample_input, .. }
            | Trigger::Webhook { sample_input } => sample_input.clone(),
            Trigger::Schedule { .. } => {
                serde_json::json!({ "scheduled_at": "2026-01-05T09:00:00Z" })
            }
        }
    }
}

/// The event types the canvas offers; custom types are allowed too.
pub const EVENT_CATALOGUE: [&str; 10] = [
    "user.created",
    "user.activated",
    "user.suspended",
    "user.deleted",
    "user.password_changed",
    "group.created",
    "group.deleted",
    "group.member_added",
    "group.member_removed",
    "admin.privilege_elevated",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 5] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// What a step does. One kind today; the picker and the storage are built for more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    ExternalAppConnector {
        #[serde(default)]
        connector_id: String,
        #[serde(default)]
        method: HttpMethod,
        #[serde(default)]
        path: String,
        /// The body template as typed.
        #[serde(default)]
        body: String,
        #[serde(default)]
        headers: Vec<HeaderInput>,
        /// Timeout, retries and failure handling.
        #[serde(default)]
        options: StepOptions,
    },
}

/// How a step's request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepOptions {
    /// Per-attempt timeout in seconds (1–300).
    pub timeout_seconds: u32,
    /// Attempts in all, on connection errors, 429 and 5xx (1–10).
    pub attempts: u32,
    /// Go on with the next step when this one fails.
    pub continue_on_failure: bool,
    /// Follow up to 5 redirects, each re-checked; credentials go only to the connector's origin.
    pub follow_redirects: bool,
}

impl Default for StepOptions {
    fn default() -> StepOptions {
        StepOptions {
            timeout_seconds: 30,
            attempts: 3,
            continue_on_failure: false,
            follow_redirects: false,
        }
    }
}

impl StepOptions {
    pub const MAX_TIMEOUT_SECONDS: u32 = 300;
    pub const MAX_ATTEMPTS: u32 = 10;

    /// The retry arithmetic for these options.
    pub fn retry_policy(&self) -> crate::retry::RetryPolicy {
        crate::retry::RetryPolicy {
            attempts: self.attempts.clamp(1, Self::MAX_ATTEMPTS),
            ..crate::retry::RetryPolicy::default()
        }
    }
}

impl Action {
    pub fn label(&self) -> &'static str {
        match self {
            Action::ExternalAppConnector { .. } => "External App Connector",
        }
    }

    /// An unconfigured action of the kind named `label`, for the picker.
    pub fn new_external_app_connector() -> Action {
        Action::ExternalAppConnector {
            connector_id: String::new(),
            method: HttpMethod::Get,
            path: String::new(),
            body: String::new(),
            headers: Vec::new(),
            options: StepOptions::default(),
        }
    }

    pub fn connector_id(&self) -> Option<&str> {
        match self {
            Action::ExternalAppConnector { connector_id, .. } => {
                Some(connector_id.as_str()).filter(|id| !id.is_empty())
            }
        }
    }
}

/// One step: a key later steps refer to, a name people read, and an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub key: String,
    pub name: String,
    pub action: Action,
}

/// A workflow as the canvas and the API send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    pub trigger: Trigger,
    #[serde(default)]
    pub steps: Vec<Step>,
}

fn enabled_by_default() -> bool {
    true
}

/// What validation needs to know about a connector a step names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorFacts {
    pub name: String,
    pub enabled: bool,
    pub base_url: String,
    /// The header its authentication sets (`Authorization`, or a custom one), if any.
    pub auth_header: Option<String>,
    /// The names of its secret headers.
    pub secret_headers: Vec<String>,
}

/// The most steps a workflow may have.
pub const MAX_STEPS: usize = 500;

/// The largest input (as JSON text) a run started by hand may have, and so the largest sample
/// input a workflow may keep: it is the input of a run started without one.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// A step's field error, named for people ("Create ticket: Endpoint Path") and for forms
/// (`steps[0].action.path`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepProblem {
    pub index: usize,
    pub key: String,
    pub field: String,
    pub message: String,
}

/// Every problem in a workflow: whole-workflow fields and per-step ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowProblems {
    pub fields: FieldErrors,
    pub steps: Vec<StepProblem>,
}

impl WorkflowProblems {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.steps.is_empty()
    }

    /// All problems keyed by form path, e.g. `steps[0].action.path`.
    pub fn to_field_errors(&self, steps: &[Step]) -> FieldErrors {
        let mut out = self.fields.clone();
        for p in &self.steps {
            let name = steps.get(p.index).map_or("", |s| s.name.as_str());
            out.add(
                format!("steps[{}].{}", p.index, p.field),
                format!(
                    "{} ({}): {}",
                    display_name(name, p.index),
                    field_label(&p.field),
                    p.message
                ),
            );
        }
        out
    }

    /// One sentence naming each failing step, for the save error.
    pub fn summary(&self, steps: &[Step]) -> String {
        let mut parts: Vec<String> = self
            .fields
            .0
            .iter()
            .map(|(field, message)| format!("{}: {message}", field_label(field)))
            .collect();
        for p in &self.steps {
            let name = steps.get(p.index).map_or("", |s| s.name.as_str());
            parts.push(format!(
                "Step {} “{}”, {}: {}",
                p.index + 1,
                display_name(name, p.index),
                field_label(&p.field),
                p.message
            ));
        }
        format!("Not saved. {}", parts.join(" "))
    }
}

fn display_name(name: &str, index: usize) -> String {
    if name.trim().is_empty() {
        format!("Step {}", index + 1)
    } else {
        name.trim().to_owned()
    }
}

/// The label a field has in the configuration pane.
pub fn field_label(field: &str) -> &str {
    match field {
        "name" => "Name",
        "description" => "Description",
        "key" => "Key",
        "action.connector_id" => "Select Connector",
        "action.method" => "HTTP Method",
        "action.path" => "Endpoint Path",
        "action.body" => "Request Body JSON",
        f if f.starts_with("action.headers") => "Headers",
        "action.options.timeout_seconds" => "Timeout (seconds)",
        "action.options.attempts" => "Attempts",
        f if f.starts_with("trigger") => "Trigger",
        "steps" => "Steps",
        other => other,
    }
}

/// A step key: a lowercase identifier (`create_ticket`), unique in the workflow.
pub fn check_step_key(key: &str) -> Result<(), String> {
    let ok = key.len() <= 64
        && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err("Use lowercase letters, digits and _ (starting with a letter, at most 64), e.g. create_ticket.".into())
    }
}

/// A key made from a step name: "Create ticket" → `create_ticket`, unique among `taken`.
pub fn key_from_name(name: &str, taken: &HashSet<String>) -> String {
    let mut base: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    base = base.trim_matches('_').to_owned();
    while base.contains("__") {
        base = base.replace("__", "_");
    }
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base = format!("step_{base}").trim_end_matches('_').to_owned();
    }
    base.truncate(56);
    let mut key = base.clone();
    let mut n = 2;
    while taken.contains(&key) {
        key = format!("{base}_{n}");
        n += 1;
    }
    key
}

/// Endpoint Path of a step: starts with `/`, relative to the connector's base URL, placeholders
/// allowed. `base_url` (when the connector is known) lets a pasted full URL be recognised.
pub fn check_step_path(path: &str, base_url: Option<&str>) -> Result<(), PathProblem> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err(PathProblem::plain("Enter the path, e.g. /api/resource."));
    }
    if trimmed.contains("://") || trimmed.starts_with("//") {
        let strip_to = base_url
            .filter(|base| !base.is_empty())
            .and_then(|base| trimmed.strip_prefix(base))
            .filter(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
            .map(|rest| {
                if rest.starts_with('/') {
                    rest.to_owned()
                } else {
                    format!("/{rest}")
                }
            });
        return Err(PathProblem {
            message:
                "Enter only the path, e.g. /api/resource — the base URL comes from the connector."
                    .into(),
            strip_to,
        });
    }
    if !trimmed.starts_with('/') {
        return Err(PathProblem::plain(
            "Start the path with /, e.g. /api/resource.",
        ));
    }
    let found = placeholders(trimmed).map_err(|e| PathProblem::plain(&e.to_string()))?;
    // Placeholders become plain letters so the rest of the path can be checked as typed.
    let mut masked = String::new();
    let mut at = 0;
    for p in &found {
        masked.push_str(&trimmed[at..p.start]);
        masked.push('x');
        at = p.end;
    }
    masked.push_str(&trimmed[at..]);
    EndpointPath::parse(&masked).map_err(|e| PathProblem::plain(&e))?;
    Ok(())
}

/// Why a path was refused, and the path to use instead when a full URL under the connector's
/// base URL was pasted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathProblem {
    pub message: String,
    pub strip_to: Option<String>,
}

impl PathProblem {
    fn plain(message: &str) -> PathProblem {
        PathProblem {
            message: message.to_owned(),
            strip_to: None,
        }
    }
}

/// An event type: from the catalogue, or a custom dotted lowercase name.
pub fn check_event_type(event_type: &str) -> Result<(), String> {
    let t = event_type.trim();
    let ok = t.len() <= 100
        && t.split('.').count() >= 2
        && t.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err("Choose an event type, or write a custom one as lowercase dotted words, e.g. user.activated.".into())
    }
}

/// A five-field cron expression (minute hour day-of-month month day-of-week) with numbers,
/// `*`, ranges, lists, steps and month/day names.
pub fn check_cron(cron: &str) -> Result<(), String> {
    crate::cron::CronSchedule::parse(cron).map(|_| ())
}

impl WorkflowInput {
    /// Checks everything; `connector` looks up a step's connector by id.
    pub fn validate(
        &self,
        connector: &dyn Fn(&str) -> Option<ConnectorFacts>,
    ) -> Result<(), WorkflowProblems> {
        let mut problems = WorkflowProblems::default();
        let name = self.name.trim();
        if name.is_empty() {
            problems
                .fields
                .add("name", "Enter a name, e.g. Provisioning ticket.");
        } else if name.chars().count() > 100 {
            problems.fields.add("name", "Use at most 100 characters.");
        } else if name.chars().any(char::is_control) {
            problems.fields.add(
                "name",
                "A name cannot contain line breaks, tabs or other control characters.",
            );
        }
        if self.description.chars().count() > 2000 {
            problems
                .fields
                .add("description", "Use at most 2000 characters.");
        } else if self
            .description
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            problems.fields.add(
                "description",
                "A description cannot contain control characters other than line breaks and tabs.",
            );
        }
        match &self.trigger {
            Trigger::Manual { .. } | Trigger::Webhook { .. } => {}
            Trigger::Event {
                event_type, filter, ..
            } => {
                if let Err(e) = check_event_type(event_type) {
                    problems.fields.add("trigger.event_type", e);
                }
                if let Err(e) = crate::filter::EventFilter::parse(filter) {
                    problems.fields.add("trigger.filter", e);
                }
            }
            Trigger::Schedule { cron, timezone, .. } => {
                if let Err(e) = check_cron(cron) {
                    problems.fields.add("trigger.cron", e);
                }
                let tz = timezone.trim();
                let tz_ok = !tz.is_empty()
                    && tz.len() <= 64
                    && tz
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c));
                if !tz_ok {
                    problems.fields.add(
                        "trigger.timezone",
                        "Enter an IANA time zone, e.g. Europe/Paris or UTC.",
                    );
                }
            }
        }
        let sample_input = self.trigger.sample_input();
        if let Err(message) = crate::decode::check_json_depth(&sample_input, "The sample input") {
            problems.fields.add("trigger.sample_input", message);
        }
        let sample = serde_json::to_string(&sample_input).map_or(0, |s| s.len());
        if sample > MAX_INPUT_BYTES {
            problems.fields.add(
                "trigger.sample_input",
                format!(
                    "The sample input is {} KiB; use at most {} KiB (a run started without an input gets it).",
                    sample.div_ceil(1024),
                    MAX_INPUT_BYTES / 1024
                ),
            );
        }
        if self.steps.len() > MAX_STEPS {
            problems
                .fields
                .add("steps", format!("Use at most {MAX_STEPS} steps."));
        }
        let mut keys = HashSet::new();
        for (index, step) in self.steps.iter().enumerate() {
            let mut problem = |field: &str, message: String| {
                problems.steps.push(StepProblem {
                    index,
                    key: step.key.clone(),
                    field: field.to_owned(),
                    message,
                })
            };
            if let Err(e) = check_step_key(&step.key) {
                problem("key", e);
            } else if !keys.insert(step.key.as_str()) {
                problem(
                    "key",
                    format!(
                        "Another step already has the key {}; keys must be unique.",
                        step.key
                    ),
                );
            }
            let step_name = step.name.trim();
            if step_name.is_empty() {
                problem("name", "Enter a step name, e.g. Create ticket.".into());
            } else if step_name.chars().count() > 100 {
                problem("name", "Use at most 100 characters.".into());
            } else if step_name.chars().any(char::is_control) {
                problem(
                    "name",
                    "A step name cannot contain line breaks, tabs or other control characters."
                        .into(),
                );
            }
            match &step.action {
                Action::ExternalAppConnector {
                    connector_id,
                    path,
                    body,
                    headers,
                    options,
                    ..
                } => {
                    if !(1..=StepOptions::MAX_TIMEOUT_SECONDS).contains(&options.timeout_seconds) {
                        problem(
                            "action.options.timeout_seconds",
                            format!(
                                "Use a timeout from 1 to {} seconds.",
                                StepOptions::MAX_TIMEOUT_SECONDS
                            ),
                        );
                    }
                    if !(1..=StepOptions::MAX_ATTEMPTS).contains(&options.attempts) {
                        problem(
                            "action.options.attempts",
                            format!("Use 1 to {} attempts.", StepOptions::MAX_ATTEMPTS),
                        );
                    }
                    let facts = if connector_id.is_empty() {
                        problem("action.connector_id", "Select a connector.".into());
                        None
                    } else {
                        let found = connector(connector_id);
                        if found.is_none() {
                            problem(
                                "action.connector_id",
                                "The selected connector no longer exists; select another.".into(),
                            );
                        }
                        found
                    };
                    if let Err(e) =
                        check_step_path(path, facts.as_ref().map(|f| f.base_url.as_str()))
                    {
                        problem("action.path", e.message);
                    }
                    if body.chars().count() > 256 * 1024 {
                        problem("action.body", "Use at most 256 KiB for the body.".into());
                    } else if let Err(e) = check_json_body(body) {
                        problem("action.body", e.to_string());
                    } else if let Err(e) = crate::render::check_body_template(body) {
                        problem("action.body", e);
                    }
                    let auth_header = facts.as_ref().and_then(|f| f.auth_header.clone());
                    let mut seen = HashSet::new();
                    for (i, row) in headers.iter().enumerate() {
                        if row.key.trim().is_empty() && row.value.trim().is_empty() {
                            continue;
                        }
                        match check_header_name(&row.key) {
                            Err(e) => problem(&format!("action.headers[{i}].key"), e),
                            Ok(key) => {
                                if auth_header
                                    .as_deref()
                                    .is_some_and(|h| h.eq_ignore_ascii_case(&key))
                                {
                                    problem(
                                        &format!("action.headers[{i}].key"),
                                        format!(
                                            "{key} is set by the connector's authentication; a step cannot override it."
                                        ),
                                    );
                                } else if facts.as_ref().is_some_and(|f| {
                                    f.secret_headers
                                        .iter()
                                        .any(|h| h.eq_ignore_ascii_case(&key))
                                }) {
                                    problem(
                                        &format!("action.headers[{i}].key"),
                                        format!(
                                            "{key} is a secret header of the connector; a step cannot override it."
                                        ),
                                    );
                                } else if let Err(e) = crate::connector::check_header_allowed(&key)
                                {
                                    problem(&format!("action.headers[{i}].key"), e);
                                } else if !seen.insert(key.to_ascii_lowercase()) {
                                    problem(
                                        &format!("action.headers[{i}].key"),
                                        format!("{key} is listed twice."),
                                    );
                                }
                            }
                        }
                        match check_header_value(&row.value).map(|_| placeholders(&row.value)) {
                            Err(e) => problem(&format!("action.headers[{i}].value"), e),
                            Ok(Err(e)) => {
                                problem(&format!("action.headers[{i}].value"), e.to_string());
                            }
                            // A credential typed into the workflow would be shown to every
                            // reader, in its versions and in each run's request.
                            Ok(Ok(found))
                                if found.is_empty()
                                    && !row.value.trim().is_empty()
                                    && crate::connector::is_credential_name(row.key.trim()) =>
                            {
                                problem(
                                    &format!("action.headers[{i}].value"),
                                    format!(
                                        "{} looks like a credential, and a value typed here is shown to everyone who can read the workflow. Set it on the connector as a Secret header, or fill it from the input with a placeholder.",
                                        row.key.trim()
                                    ),
                                );
                            }
                            Ok(Ok(_)) => {}
                        }
                    }
                    if headers.len() > crate::connector::MAX_HEADERS {
                        problem(
                            "action.headers",
                            format!("Use at most {} headers.", crate::connector::MAX_HEADERS),
                        );
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn taken_keys(&self) -> HashSet<String> {
        self.steps.iter().map(|s| s.key.clone()).collect()
    }

    /// Inserts a new step of `action`'s kind at `at` (clamped); returns its index.
    pub fn insert_step(&mut self, at: usize, action: Action) -> usize {
        let name = action.label().to_owned();
        let key = key_from_name(&name, &self.taken_keys());
        let at = at.min(self.steps.len());
        self.steps.insert(at, Step { key, name, action });
        at
    }

    /// Copies step `i` right after it, with a fresh key; returns the copy's index.
    pub fn duplicate_step(&mut self, i: usize) -> Option<usize> {
        let mut copy = self.steps.get(i)?.clone();
        copy.name = format!("{} (copy)", copy.name).chars().take(100).collect();
        copy.key = key_from_name(&copy.key, &self.taken_keys());
        self.steps.insert(i + 1, copy);
        Some(i + 1)
    }

    /// Moves step `i` one place up (`-1`) or down (`1`); returns where it went.
    pub fn move_step(&mut self, i: usize, up: bool) -> Option<usize> {
        let to = if up { i.checked_sub(1)? } else { i + 1 };
        if to >= self.steps.len() || i >= self.steps.len() {
            return None;
        }
        self.steps.swap(i, to);
        Some(to)
    }

    /// The connectors the steps use.
    pub fn connector_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .steps
            .iter()
            .filter_map(|s| s.action.connector_id().map(str::to_owned))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jira(id: &str) -> Option<ConnectorFacts> {
        (id == "c-jira").then(|| ConnectorFacts {
            name: "Jira".into(),
            enabled: true,
            base_url: "https://example.atlassian.net/rest".into(),
            auth_header: Some("Authorization".into()),
            secret_headers: vec!["X-App-Key".into()],
        })
    }

    fn sample() -> WorkflowInput {
        serde_json::from_value(json!({
            "name": "Provisioning ticket",
            "trigger": { "type": "manual", "sample_input": { "resource": { "username": "ada" } } },
            "steps": [ { "key": "create_ticket", "name": "Create ticket",
                "action": { "type": "external_app_connector", "connector_id": "c-jira", "method": "POST",
                    "path": "/api/v2/alerts", "body": "{ \"summary\": \"${input.resource.username}\", \"by\": {{ .input.body.actor.email }} }",
                    "headers": [ { "key": "X-Source", "value": "switchboard" } ] } } ]
        }))
        .unwrap()
    }

    #[test]
    fn the_documented_shape_parses_and_validates() {
        let workflow = sample();
        assert!(workflow.enabled, "enabled by default");
        assert_eq!(workflow.validate(&jira), Ok(()));
        assert_eq!(workflow.connector_ids(), ["c-jira"]);
        let back = serde_json::to_value(&workflow).unwrap();
        assert_eq!(back["steps"][0]["action"]["method"], "POST");
        assert_eq!(back["trigger"]["type"], "manual");
        for trigger in [
            json!({"type":"event","event_type":"user.activated","filter":"resource.department == \"Engineering\""}),
            json!({"type":"schedule","cron":"*/15 9-17 * JAN-DEC mon-fri","timezone":"Europe/Paris"}),
            json!({"type":"webhook"}),
        ] {
            let mut w = sample();
            w.trigger = serde_json::from_value(trigger.clone()).unwrap();
            assert_eq!(w.validate(&jira), Ok(()), "{trigger}");
        }
    }

    fn problems_of(edit: impl FnOnce(&mut WorkflowInput)) -> FieldErrors {
        let mut w = sample();
        edit(&mut w);
        let steps = w.steps.clone();
        w.validate(&jira).unwrap_err().to_field_errors(&steps)
    }

    fn set_action(
        w: &mut WorkflowInput,
        f: impl FnOnce(&mut String, &mut String, &mut String, &mut Vec<HeaderInput>),
    ) {
        let Action::ExternalAppConnector {
            connector_id,
            path,
            body,
            headers,
            ..
        } = &mut w.steps[0].action;
        f(connector_id, path, body, headers);
    }

    #[test]
    fn a_sample_input_is_held_to_a_run_input_s_size() {
        let sized = |bytes: usize| {
            move |w: &mut WorkflowInput| {
                // `{"s":"…"}`: 8 bytes around the string.
                w.trigger = Trigger::Manual {
                    sample_input: json!({ "s": "x".repeat(bytes - 8) }),
                };
            }
        };
        let e = problems_of(sized(MAX_INPUT_BYTES + 1));
        assert!(
            e.get("trigger.sample_input")
                .is_some_and(|m| m.contains("use at most 1024 KiB")),
            "{e:?}"
        );
        let mut w = sample();
        sized(MAX_INPUT_BYTES)(&mut w);
        assert_eq!(w.validate(&jira), Ok(()));
        // And to its nesting.
        let e = problems_of(|w| {
            let mut deep = json!(1);
            for _ in 0..65 {
                deep = json!([deep]);
            }
            w.trigger = Trigger::Manual { sample_input: deep };
        });
        assert!(
            e.get("trigger.sample_input")
                .is_some_and(|m| m.contains("65 levels deep")),
            "{e:?}"
        );
    }

    #[test]
    fn names_hold_no_control_characters() {
        // A NUL cannot be stored in PostgreSQL's text: caught here, not at run time.
        let e = problems_of(|w| w.name = "Provisioning\0".into());
        assert!(
            e.get("name")
                .is_some_and(|m| m.contains("control characters")),
            "{e:?}"
        );
        let e = problems_of(|w| w.steps[0].name = "Create\nticket".into());
        assert!(
            e.get("steps[0].name")
                .is_some_and(|m| m.contains("control characters")),
            "{e:?}"
        );
        let e = problems_of(|w| w.description = "a\u{7}".into());
        assert!(e.get("description").is_some(), "{e:?}");
        let mut w = sample();
        w.description = "Line one\r\nLine two\tindented".into();
        assert_eq!(w.validate(&jira), Ok(()));
    }

    #[test]
    fn each_bad_field_is_named_with_its_step() {
        let e =
            problems_of(|w| set_action(w, |_, path, _, _| *path = "https://evil.example/x".into()));
        assert_eq!(
            e.get("steps[0].action.path"),
            Some(
                "Create ticket (Endpoint Path): Enter only the path, e.g. /api/resource — the base URL comes from the connector."
            )
        );
        let e = problems_of(|w| set_action(w, |_, _, body, _| *body = "{ \"a\": }".into()));
        assert!(
            e.get("steps[0].action.body")
                .unwrap()
                .contains("Line 1, column 8"),
            "{e:?}"
        );
        let e = problems_of(|w| set_action(w, |id, _, _, _| id.clear()));
        assert!(
            e.get("steps[0].action.connector_id")
                .unwrap()
                .contains("Select a connector")
        );
        let e = problems_of(|w| set_action(w, |id, _, _, _| *id = "gone".into()));
        assert!(
            e.get("steps[0].action.connector_id")
                .unwrap()
                .contains("no longer exists")
        );
        let e = problems_of(|w| {
            set_action(w, |_, _, _, h| {
                h.push(HeaderInput {
                    key: "authorization".into(),
                    value: "x".into(),
                })
            })
        });
        assert!(
            e.get("steps[0].action.headers[1].key")
                .unwrap()
                .contains("cannot override")
        );
        let e = problems_of(|w| {
            set_action(w, |_, _, _, h| {
                h.push(HeaderInput {
                    key: "x-app-key".into(),
                    value: "${input.resource.username}".into(),
                })
            })
        });
        assert!(
            e.get("steps[0].action.headers[1].key")
                .unwrap()
                .contains("secret header of the connector")
        );
        let e = problems_of(|w| {
            set_action(w, |_, _, _, h| {
                h.push(HeaderInput {
                    key: "X-A".into(),
                    value: "a\r\nb".into(),
                })
            })
        });
        assert!(
            e.get("steps[0].action.headers[1].value")
                .unwrap()
                .contains("line breaks")
        );
        let e = problems_of(|w| {
            set_action(w, |_, _, _, h| {
                h.push(HeaderInput {
                    key: "bad header".into(),
                    value: "a".into(),
                })
            })
        });
        assert!(e.0.contains_key("steps[0].action.headers[1].key"));
        // A literal credential-like value is refused; filled from the input, it is not.
        let with_header = |key: &str, value: &str| {
            let (key, value) = (key.to_owned(), value.to_owned());
            move |w: &mut WorkflowInput| {
                set_action(w, |_, _, _, h| h.push(HeaderInput { key, value }))
            }
        };
        let e = problems_of(with_header("X-Gitlab-Token", "glpat-abc"));
        assert_eq!(
            e.get("steps[0].action.headers[1].value"),
            Some(
                "Create ticket (Headers): X-Gitlab-Token looks like a credential, and a value typed here is shown to everyone who can read the workflow. Set it on the connector as a Secret header, or fill it from the input with a placeholder."
            )
        );
        for (key, value) in [
            ("X-Gitlab-Token", "${input.token}"),
            ("Idempotency-Key", "fixed"),
            ("X-Request-Source", "switchboard"),
        ] {
            let mut w = sample();
            with_header(key, value)(&mut w);
            assert_eq!(w.validate(&jira), Ok(()), "{key}: {value}");
        }
        let e = problems_of(|w| {
            let copy = w.steps[0].clone();
            w.steps.push(copy);
        });
        assert!(e.get("steps[1].key").unwrap().contains("unique"));
        let e = problems_of(|w| w.name = " ".into());
        assert!(e.0.contains_key("name"));
        let e = problems_of(|w| {
            w.trigger = Trigger::Schedule {
                cron: "61 * * * *".into(),
                timezone: "UTC".into(),
                catch_up: false,
            }
        });
        assert!(e.get("trigger.cron").unwrap().contains("between 0 and 59"));
        let e = problems_of(|w| {
            w.trigger = Trigger::Event {
                event_type: "Not An Event".into(),
                filter: String::new(),
                sample_input: json!({}),
            }
        });
        assert!(e.0.contains_key("trigger.event_type"));
        let e = problems_of(|w| {
            w.trigger = Trigger::Event {
                event_type: "user.activated".into(),
                filter: "resource.department = \"Sales\"".into(),
                sample_input: json!({}),
            }
        });
        assert!(
            e.get("trigger.filter")
                .unwrap()
                .contains("expected ==, != or contains")
        );
    }

    #[test]
    fn older_triggers_read_with_defaults() {
        let old: Trigger = serde_json::from_value(json!({"type":"webhook"})).unwrap();
        assert_eq!(
            old.sample_input()["body"]["actor"]["email"],
            "admin@example.com"
        );
        let old: Trigger =
            serde_json::from_value(json!({"type":"schedule","cron":"* * * * *","timezone":"UTC"}))
                .unwrap();
        assert!(matches!(
            old,
            Trigger::Schedule {
                catch_up: false,
                ..
            }
        ));
    }

    #[test]
    fn the_summary_names_every_failing_step() {
        let mut w = sample();
        let mut second = w.steps[0].clone();
        second.key = "notify".into();
        second.name = "Notify SIEM".into();
        let Action::ExternalAppConnector { path, .. } = &mut second.action;
        *path = "relative".into();
        w.steps.push(second);
        set_action(&mut w, |id, _, _, _| id.clear());
        let problems = w.validate(&jira).unwrap_err();
        let summary = problems.summary(&w.steps);
        assert!(
            summary.contains("Step 1 “Create ticket”, Select Connector: Select a connector."),
            "{summary}"
        );
        assert!(
            summary.contains("Step 2 “Notify SIEM”, Endpoint Path: Start the path with /"),
            "{summary}"
        );
    }

    #[test]
    fn paths_take_placeholders_and_offer_to_strip_a_pasted_base_url() {
        let base = Some("https://example.atlassian.net/rest");
        assert_eq!(
            check_step_path("/api/users/${input.resource.id}", base),
            Ok(())
        );
        assert_eq!(
            check_step_path("/api/users/{{ .input.resource.id }}/groups", base),
            Ok(())
        );
        let pasted =
            check_step_path("https://example.atlassian.net/rest/api/2/issue", base).unwrap_err();
        assert_eq!(pasted.strip_to.as_deref(), Some("/api/2/issue"));
        let elsewhere = check_step_path("https://evil.example/rest/api", base).unwrap_err();
        assert_eq!(elsewhere.strip_to, None);
        for bad in [
            "",
            "api/x",
            "//evil.example/x",
            "/a/../b",
            "/a b",
            "/${input.x",
            "/${secret.x}",
        ] {
            assert!(check_step_path(bad, base).is_err(), "{bad}");
        }
    }

    #[test]
    fn steps_are_inserted_duplicated_and_moved() {
        let mut w = sample();
        let at = w.insert_step(0, Action::new_external_app_connector());
        assert_eq!(at, 0);
        assert_eq!(w.steps[0].key, "external_app_connector");
        assert_eq!(w.steps[0].name, "External App Connector");
        assert_eq!(w.insert_step(99, Action::new_external_app_connector()), 2);
        assert_eq!(w.steps[2].key, "external_app_connector_2");
        assert_eq!(w.duplicate_step(1), Some(2));
        assert_eq!(w.steps[2].name, "Create ticket (copy)");
        assert_eq!(w.steps[2].key, "create_ticket_2");
        assert_eq!(w.move_step(2, true), Some(1));
        assert_eq!(w.steps[1].key, "create_ticket_2");
        assert_eq!(w.move_step(0, true), None);
        assert_eq!(w.move_step(3, false), None);
        let keys: HashSet<_> = w.steps.iter().map(|s| s.key.clone()).collect();
        assert_eq!(keys.len(), w.steps.len(), "keys stay unique");
    }

    #[test]
    fn keys_are_made_from_names() {
        let mut taken = HashSet::new();
        assert_eq!(key_from_name("Create ticket", &taken), "create_ticket");
        taken.insert("create_ticket".to_owned());
        assert_eq!(key_from_name("Create  ticket!", &taken), "create_ticket_2");
        assert_eq!(key_from_name("42 things", &taken), "step_42_things");
        assert_eq!(key_from_name("", &taken), "step");
        for key in ["create_ticket", "a", "step_2"] {
            assert!(check_step_key(key).is_ok());
        }
        for key in ["", "Create", "2x", "a-b", &"a".repeat(65)] {
            assert!(check_step_key(key).is_err(), "{key}");
        }
    }

    #[test]
    fn cron_expressions_are_checked_field_by_field() {
        for ok in [
            "* * * * *",
            "0 9 * * 1-5",
            "*/5 0-23/2 1,15 jan-jun sun",
            "0 0 1 1 7",
        ] {
            assert_eq!(check_cron(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("* * * *", "five fields"),
            ("60 * * * *", "between 0 and 59"),
            ("* 24 * * *", "between 0 and 23"),
            ("* * 0 * *", "between 1 and 31"),
            ("* * * 13 *", "between 1 and 12"),
            ("* * * * 8", "between 0 and 7"),
            ("*/0 * * * *", "step"),
            ("5-1 * * * *", "backwards"),
            ("x * * * *", "not a valid minute"),
        ] {
            let e = check_cron(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
