//! Runs: queued durably, executed by workers that claim them with a lease, each step planned by
//! `domain::plan`, sent with the connector's credentials, retried by `domain::retry`, and
//! recorded masked and redacted. A run whose worker stops is claimed again when its lease runs
//! out and resumes at the first step that had not succeeded.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use app::auth::AppError;
use app::auth::service::require;
use app::runs::service::RunService;
use app::runs::{RunQuery, RunStepView, RunSummary, RunView, StepTest, StepTestResult};
use async_trait::async_trait;
use domain::connector::{Auth, Secrets};
use domain::plan::{
    ConnectorPlan, PlannedRequest, ShownRequest, ShownResponse, check_same_origin, mask_set_cookie,
    plan, redact, redact_cut, without_query_param,
};
use domain::render::RunContext;
use domain::retry::{Outcome, parse_retry_after};
use domain::workflow::{Action, HttpMethod, MAX_INPUT_BYTES, Step};
use domain::{Caller, Permission};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::connectors::{Connectors, RunConnector};
use crate::outbound::{Received, SendFailure};
use crate::storage::{
    AfterWrite, InsertClaim, NewAuditEntry, NewRun, RunFilter, RunRecord, RunStepRecord, RunWrite,
    RunWriter, RunWritten, Store, StoreError, WorkflowRecord, now_ms,
};
use crate::workflows::Definition;

/// How runs are executed.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Runs executed at once by this process.
    pub workers: usize,
    /// Requests in flight at once to one connector (from this process).
    pub per_connector: usize,
    /// A running run whose lease is not renewed within this is claimed by another worker.
    pub lease: Duration,
    /// How often an idle worker looks for runs queued by other replicas.
    pub poll: Duration,
    /// Response bytes kept per step; the rest is discarded and marked truncated.
    pub max_body: usize,
    /// Runs finished longer ago than this are purged.
    pub retention: Duration,
    /// On shutdown, how long steps in flight may take to finish.
    pub drain: Duration,
}

impl Default for RunnerConfig {
    fn default() -> RunnerConfig {
        RunnerConfig {
            workers: 4,
            per_connector: 8,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            max_body: 1024 * 1024,
            retention: Duration::from_secs(30 * 24 * 3600),
            drain: Duration::from_secs(20),
        }
    }
}

/// A step still in flight after this is recorded as running (quicker ones are recorded once,
/// finished). A worker that stops mid-step sends the step again either way.
const SHOWN_RUNNING_AFTER: Duration = Duration::from_millis(250);

/// The run service: cheap to clone (one reference count), as every run and request takes one.
#[derive(Clone)]
pub struct Runs(Arc<RunsInner>);

impl std::ops::Deref for Runs {
    type Target = RunsInner;
    fn deref(&self) -> &RunsInner {
        &self.0
    }
}

pub struct RunsInner {
    store: Store,
    writer: RunWriter,
    connectors: Connectors,
    config: RunnerConfig,
    /// This process's lease prefix: each run it claims is owned by `<process>:<claim number>`.
    process: Arc<str>,
    dispatch: Arc<Dispatch>,
    limits: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
    /// When this process last recorded each connector's use (epoch ms).
    touched: std::sync::Mutex<HashMap<String, i64>>,
}

/// Claimed runs on their way to this process's workers.
///
/// A run queued here while a worker is free is claimed for that worker in the same write and
/// handed over in memory; other runs wait in the database, where the dispatcher claims as many
/// at once as there are free workers (and other replicas find them too).
struct Dispatch {
    /// Workers free for a run that nobody has promised them yet.
    idle: AtomicUsize,
    ready: mpsc::UnboundedSender<RunRecord>,
    taken: tokio::sync::Mutex<mpsc::UnboundedReceiver<RunRecord>>,
    /// Wakes the dispatcher: a run was queued, or a worker became free.
    wake: Notify,
    /// Runs may be waiting in the database (queued unclaimed, here or by another replica, or a
    /// lease ran out): a new run then queues behind them instead of taking a free worker first.
    /// Cleared when the dispatcher finds fewer runs than it has free workers.
    backlog: AtomicBool,
}

impl Dispatch {
    /// Promises up to `most` free workers; returns how many.
    fn take_idle(&self, most: usize) -> usize {
        let mut idle = self.idle.load(Ordering::SeqCst);
        loop {
            let take = idle.min(most);
            if take == 0 {
                return 0;
            }
            match self
                .idle
                .compare_exchange(idle, idle - take, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return take,
                Err(now) => idle = now,
            }
        }
    }

    /// Returns promises that were not needed.
    fn give_back(&self, workers: usize) {
        self.idle.fetch_add(workers, Ordering::SeqCst);
    }

    /// A worker finished its run: the dispatcher may claim another for it.
    fn worker_free(&self) {
        self.idle.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// Free workers promised to runs being queued or claimed: each run handed over keeps one
/// promise; the rest are freed when this is dropped.
struct Promise {
    runs: Runs,
    workers: usize,
    /// Whether freed workers wake the dispatcher (not for its own claims: when it claimed
    /// fewer runs than it had workers for, the queue is empty).
    wake: bool,
}

impl Promise {
    fn keep(&mut self, run: RunRecord) {
        self.workers = self.workers.saturating_sub(1);
        self.runs.hand_over(run);
    }
}

impl Drop for Promise {
    fn drop(&mut self) {
        if self.workers > 0 {
            self.runs.dispatch.give_back(self.workers);
            if self.wake {
                self.runs.dispatch.wake.notify_one();
            }
        }
    }
}

/// The workers of this process; `shutdown` stops them gracefully.
pub struct Workers {
    runs: Runs,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    drain: Duration,
}

impl Workers {
    /// Stops claiming, lets steps in flight finish (up to the drain time), and puts unfinished
    /// runs back in the queue.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(self.drain, all).await.is_err() {
            tracing::warn!("runs still in flight after the drain time; their leases will expire");
            self.tasks.abort_all();
        }
        // Claimed for a worker that stopped before taking them.
        let mut taken = self.runs.dispatch.taken.lock().await;
        while let Ok(run) = taken.try_recv() {
            self.runs.release(&run).await;
        }
    }
}

/// Stops a task when dropped: the lease heartbeat ends with its run, even on a panic or abort.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How one step ended: its record (not yet written when finished) and whether it succeeded.
struct StepEnd {
    ok: bool,
    error: Option<String>,
    record: RunStepRecord,
}

/// How a run's steps ended.
enum StepsEnd {
    /// This worker stopped or lost the run before the end: another worker carries on.
    Stopped,
    /// Every step ran (`failure`: the step that failed the run), and the last step's record,
    /// to be written with the run's end.
    Ran {
        failure: Option<String>,
        last: Option<Box<RunStepRecord>>,
    },
}

impl Runs {
    /// Needs a Tokio runtime: it starts the run writer.
    pub fn new(store: Store, connectors: Connectors, config: RunnerConfig) -> Runs {
        let (ready, taken) = mpsc::unbounded_channel();
        Runs(Arc::new(RunsInner {
            writer: RunWriter::start(store.clone()),
            store,
            connectors,
            config,
            process: uuid::Uuid::new_v4().simple().to_string()[..12].into(),
            dispatch: Arc::new(Dispatch {
                idle: AtomicUsize::new(0),
                ready,
                taken: tokio::sync::Mutex::new(taken),
                wake: Notify::new(),
                // Runs may be left from before a restart, or queued by other replicas.
                backlog: AtomicBool::new(true),
            }),
            limits: std::sync::Mutex::default(),
            touched: std::sync::Mutex::default(),
        }))
    }

    /// What the lease owner of each run this process claims starts with.
    pub fn lease_prefix(&self) -> &str {
        &self.process
    }

    /// Starts the workers, the dispatcher that claims queued runs for them, and the retention
    /// sweep.
    pub fn start_workers(&self) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let workers = self.config.workers.max(1);
        for _ in 0..workers {
            let runs = self.clone();
            let stopped = stopped.clone();
            tasks.spawn(async move { runs.work(stopped).await });
        }
        self.dispatch.give_back(workers);
        let runs = self.clone();
        let stopped_dispatch = stopped.clone();
        tasks.spawn(async move { runs.dispatch_queued(stopped_dispatch).await });
        let runs = self.clone();
        let mut stopped_sweep = stopped;
        tasks.spawn(async move {
            loop {
                runs.purge().await;
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(3600)) => {}
                    _ = stopped_sweep.changed() => break,
                }
            }
        });
        Workers {
            runs: self.clone(),
            stop,
            tasks,
            drain: self.config.drain,
        }
    }

    async fn purge(&self) {
        let before = now_ms() - self.config.retention.as_millis() as i64;
        match self.store.purge_runs(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "old runs purged"),
            Err(error) => tracing::warn!(%error, "purging old runs failed"),
        }
        match self.store.purge_trigger_claims(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                purged = n,
                "old idempotency keys, event ids and ticks purged"
            ),
            Err(error) => tracing::warn!(%error, "purging old trigger claims failed"),
        }
    }

    /// Records that a connector was used (its *Last used*), at most once a minute per
    /// connector and process: a write per step would compete with the runs' own writes.
    async fn touch(&self, connector_id: &str) {
        let now = now_ms();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            match touched.get(connector_id) {
                Some(&at) if now - at < 60_000 => return,
                _ => {
                    touched.insert(connector_id.to_owned(), now);
                }
            }
        }
        if let Err(error) = self.store.touch_connector(connector_id).await {
            tracing::warn!(%error, "recording a connector's last use failed");
        }
    }

    fn lease_ms(&self) -> i64 {
        self.config.lease.as_millis() as i64
    }

    /// Queues `run`, started by `trigger`: claimed at once for a free worker of this process
    /// when there is one, else left for the dispatcher (or another replica). Once this returns,
    /// the run will be executed, and so it will if this future is dropped after the write.
    pub async fn queue(&self, trigger: &'static str, run: NewRun) -> Result<RunRecord, StoreError> {
        self.queue_audited(trigger, run, None).await
    }

    /// Like [`Runs::queue`], with `audit` written in the same transaction as the run: on the
    /// writer, not beside it, where it would contend for SQLite's write lock with the run's
    /// first step.
    async fn queue_audited(
        &self,
        trigger: &'static str,
        run: NewRun,
        audit: Option<NewAuditEntry>,
    ) -> Result<RunRecord, StoreError> {
        let behind_others = self.dispatch.backlog.load(Ordering::SeqCst);
        let promise = (!behind_others && self.dispatch.take_idle(1) == 1).then(|| Promise {
            runs: self.clone(),
            workers: 1,
            wake: true,
        });
        let claim = promise.as_ref().map(|_| InsertClaim {
            process: self.process.to_string(),
            lease_ms: self.lease_ms(),
        });
        let dispatch = self.dispatch.clone();
        let after: AfterWrite = Box::new(move |written| {
            let Some(RunWritten::Inserted(run)) = written else {
                return; // Dropping the promise frees its worker.
            };
            crate::metrics::run_started(trigger, 1);
            match promise {
                Some(mut promise) => promise.keep(run.as_ref().clone()),
                None => {
                    dispatch.backlog.store(true, Ordering::SeqCst);
                    dispatch.wake.notify_one();
                }
            }
        });
        match self
            .writer
            .write_then(
                RunWrite::Insert {
                    run,
                    claim,
                    audit: audit.map(Box::new),
                },
                Some(after),
            )
            .await?
        {
            RunWritten::Inserted(run) => Ok(*run),
            other => Err(other.unexpected()),
        }
    }

    /// Counts `count` runs queued by `trigger` elsewhere (in a trigger's own transaction) and
    /// wakes the dispatcher for them (other replicas find them by polling).
    pub fn queued(&self, trigger: &'static str, count: usize) {
        crate::metrics::run_started(trigger, count);
        self.dispatch.backlog.store(true, Ordering::SeqCst);
        self.dispatch.wake.notify_one();
    }

    /// Gives a run claimed for this process to a worker. Runs handed over while the workers
    /// stop are put back in the queue by `Workers::shutdown`.
    fn hand_over(&self, run: RunRecord) {
        // Cannot fail: `Dispatch` holds the receiving end as long as it holds this one.
        let _ = self.dispatch.ready.send(run);
    }

    /// Puts a run this process holds back in the queue (graceful shutdown): another worker
    /// resumes it at once.
    async fn release(&self, run: &RunRecord) {
        let Some(owner) = &run.lease_owner else {
            return;
        };
        if let Err(error) = self.store.release_run(&run.id, owner).await {
            tracing::warn!(%error, run_id = %run.id, "releasing a run failed");
        }
    }

    /// A worker: executes the runs handed to it, one at a time, until stopped.
    async fn work(&self, mut stopped: watch::Receiver<bool>) {
        loop {
            if *stopped.borrow() {
                break;
            }
            let run = {
                let mut taken = self.dispatch.taken.lock().await;
                tokio::select! {
                    run = taken.recv() => run,
                    _ = stopped.changed() => None,
                }
            };
            let Some(run) = run else { break };
            // Every line logged while the run executes carries its ids.
            let span = tracing::info_span!(
                "run",
                run_id = %run.id,
                workflow_id = %run.workflow_id
            );
            self.execute(run, &stopped).instrument(span).await;
            self.dispatch.worker_free();
        }
    }

    /// Claims queued runs (and runs whose worker stopped, on any replica) for the free workers.
    async fn dispatch_queued(&self, mut stopped: watch::Receiver<bool>) {
        while !*stopped.borrow() {
            let free = self.dispatch.take_idle(usize::MAX);
            if free > 0 {
                // Handed over by the writer, so a claim is never lost with this task.
                let mut promise = Promise {
                    runs: self.clone(),
                    workers: free,
                    wake: false,
                };
                let dispatch = self.dispatch.clone();
                let after: AfterWrite = Box::new(move |written| {
                    if let Some(RunWritten::Claimed(claimed)) = written {
                        // Fewer than asked for: nothing else is waiting (as of this claim).
                        dispatch
                            .backlog
                            .store(claimed.len() >= free, Ordering::SeqCst);
                        for run in claimed {
                            promise.keep(run.clone());
                        }
                    }
                });
                let claimed = self
                    .writer
                    .write_then(
                        RunWrite::Claim {
                            process: self.process.to_string(),
                            lease_ms: self.lease_ms(),
                            limit: free as i64,
                        },
                        Some(after),
                    )
                    .await;
                if let Err(error) = claimed {
                    tracing::error!(%error, "claiming runs failed");
                }
            }
            tokio::select! {
                () = self.dispatch.wake.notified() => {}
                () = tokio::time::sleep(self.config.poll) => {}
                _ = stopped.changed() => {}
            }
        }
    }

    /// Executes a claimed run to its end, or until this worker stops or loses the lease.
    async fn execute(&self, run: RunRecord, stopped: &watch::Receiver<bool>) {
        let Some(owner) = run.lease_owner.clone() else {
            tracing::error!("a run reached a worker without a lease");
            return;
        };
        let lost = Arc::new(AtomicBool::new(false));
        let _heartbeat = AbortOnDrop({
            let store = self.store.clone();
            let (id, owner) = (run.id.clone(), owner.clone());
            let lease = self.config.lease;
            let lost = lost.clone();
            let span = tracing::Span::current();
            tokio::spawn(
                async move {
                    let mut renewed = std::time::Instant::now();
                    loop {
                        tokio::time::sleep(lease / 3).await;
                        match store
                            .renew_lease(&id, &owner, lease.as_millis() as i64)
                            .await
                        {
                            Ok(true) => renewed = std::time::Instant::now(),
                            Ok(false) => {
                                lost.store(true, Ordering::SeqCst);
                                break;
                            }
                            Err(error) => {
                                tracing::warn!(%error, "renewing a lease failed");
                                // Another worker may take the run once the lease has run out.
                                if renewed.elapsed() >= lease {
                                    lost.store(true, Ordering::SeqCst);
                                    break;
                                }
                            }
                        }
                    }
                }
                .instrument(span),
            )
        });
        let (status, error, last) = match self.steps_of(&owner, &run, stopped, &lost).await {
            Ok(StepsEnd::Stopped) => {
                self.release(&run).await;
                return;
            }
            Ok(StepsEnd::Ran {
                failure: None,
                last,
            }) => ("succeeded", None, last),
            Ok(StepsEnd::Ran {
                failure: Some(error),
                last,
            }) => ("failed", Some(error), last),
            Err(RunFault::Broken(error)) => {
                tracing::error!(%error, "run failed on the server");
                (
                    "failed",
                    Some("The server could not execute this run; its log has the details.".into()),
                    None,
                )
            }
            Err(RunFault::Storage(error)) => {
                // Not the run's fault, so not failed. Left to its lease (renewals stop here): a
                // worker resumes it from its last recorded step once the lease runs out. Given back
                // at once instead, a fault that outlasts the retries would have the run taken,
                // its step sent and the write refused again, over and over.
                tracing::error!(%error, "the database failed under a run; it resumes when its lease runs out");
                return;
            }
        };
        let finish = RunWrite::Finish {
            run_id: run.id.clone(),
            owner,
            status,
            error,
            step: last.map(|step| *step),
        };
        let finished = retried("recording a run's end", || {
            self.writer.write(finish.clone())
        })
        .await;
        match finished {
            Ok(RunWritten::Held(true)) => {
                crate::metrics::run_finished(status);
                tracing::info!(status, "run finished");
            }
            Ok(_) => tracing::warn!("run was taken over by another worker"),
            Err(error) => tracing::error!(%error, "recording a run's end failed"),
        }
    }

    /// Writes a step's record while `owner` holds the run; false when it no longer does. Tried
    /// again through a brief database fault ([`retried`]).
    async fn save_step(
        &self,
        run: &RunRecord,
        owner: &str,
        step: RunStepRecord,
    ) -> Result<bool, RunFault> {
        let write = RunWrite::Step {
            run_id: run.id.clone(),
            owner: owner.to_owned(),
            step,
        };
        match retried("recording a step", || self.writer.write(write.clone())).await? {
            RunWritten::Held(held) => Ok(held),
            other => Err(RunFault::Broken(other.unexpected().to_string())),
        }
    }

    /// The steps of a run, from the first that has not succeeded.
    async fn steps_of(
        &self,
        owner: &str,
        run: &RunRecord,
        stopped: &watch::Receiver<bool>,
        lost: &AtomicBool,
    ) -> Result<StepsEnd, RunFault> {
        let definition =
            Definition::parse(&run.workflow_id, &run.definition).map_err(RunFault::Broken)?;
        let input: Value = serde_json::from_str(&run.input).map_err(|e| {
            RunFault::Broken(format!(
                "bad input: {}",
                domain::decode::without_quoted_value(&e.to_string())
            ))
        })?;
        // A run claimed for the first time has no steps yet: skip the read.
        let done = if run.claims > 1 {
            retried("reading a run's steps", || self.store.run_steps(&run.id)).await?
        } else {
            Vec::new()
        };
        let started = run.started_at.unwrap_or(run.queued_at);
        let mut cx = RunContext::new(input)
            .workflow(&run.workflow_id, &run.workflow_name)
            .run(&run.id, &iso(started));
        let mut failure = None;
        // The last finished step's record: written when the next step starts, or with the
        // run's end.
        let mut last: Option<Box<RunStepRecord>> = None;
        for (position, step) in definition.steps.iter().enumerate() {
            if let Some(record) = done.iter().find(|r| r.position == position as i64) {
                match record.status.as_str() {
                    "succeeded" => {
                        add_output(&mut cx, &step.key, record.response.as_deref());
                        continue;
                    }
                    "failed" if !continue_on_failure(step) => {
                        failure = Some(step_failure(position, step, record.error.as_deref()));
                        break;
                    }
                    "failed" => continue,
                    // In flight when a worker stopped: sent again (at least once).
                    _ => {
                        tracing::warn!(step = %step.key, "resuming a step that was in flight")
                    }
                }
            }
            if *stopped.borrow() || lost.load(Ordering::SeqCst) {
                if let Some(record) = last.take() {
                    self.save_step(run, owner, *record).await?;
                }
                return Ok(StepsEnd::Stopped);
            }
            if let Some(record) = last.take()
                && !self.save_step(run, owner, *record).await?
            {
                return Ok(StepsEnd::Stopped);
            }
            let Some(end) = self
                .run_step(owner, run, position, step, &mut cx, lost)
                .await?
            else {
                // The lease went to another worker: it carries on from here.
                return Ok(StepsEnd::Stopped);
            };
            last = Some(Box::new(end.record));
            if !end.ok && !continue_on_failure(step) {
                failure = Some(step_failure(position, step, end.error.as_deref()));
                break;
            }
        }
        Ok(StepsEnd::Ran { failure, last })
    }

    /// Executes one step: plan, send (with retries), and record it as running if it takes a
    /// while. `None` when this worker no longer holds the run, or may not (its lease could not be
    /// renewed for a whole lease while retrying): the step is not recorded as ended, and whoever
    /// holds the run sends it again. `Err` only for storage faults.
    /// The finished record is returned, not written: the caller writes it with the next write
    /// of the run.
    async fn run_step(
        &self,
        owner: &str,
        run: &RunRecord,
        position: usize,
        step: &Step,
        cx: &mut RunContext,
        lost: &AtomicBool,
    ) -> Result<Option<StepEnd>, RunFault> {
        let mut record = RunStepRecord {
            position: position as i64,
            key: step.key.clone(),
            name: step.name.clone(),
            status: "running".into(),
            attempts: 0,
            error: None,
            request: None,
            response: None,
            started_at: now_ms(),
            finished_at: None,
        };
        // Most steps finish within a few milliseconds: record them once, finished. A step still
        // going after a moment is recorded as running, so its run page shows it.
        let result = {
            let send = self.send_step(step, cx, Some(lost));
            tokio::pin!(send);
            tokio::select! {
                sent = &mut send => sent,
                () = tokio::time::sleep(SHOWN_RUNNING_AFTER) => {
                    // The request goes on while the record is written: a response must not wait
                    // (and time out) behind the database.
                    let (saved, sent) =
                        tokio::join!(self.save_step(run, owner, record.clone()), &mut send);
                    if !saved? {
                        return Ok(None);
                    }
                    sent
                }
            }
        };
        match result.interrupted {
            Some(Interrupted::LeaseLost) => return Ok(None),
            Some(Interrupted::Storage(error)) => return Err(RunFault::Storage(error)),
            None => {}
        }
        record.attempts = result.attempts;
        record.request = result.request.as_ref().map(to_json);
        record.response = result.response.as_ref().map(to_json);
        record.error = result.error.clone();
        record.status = if result.ok { "succeeded" } else { "failed" }.into();
        record.finished_at = Some(now_ms());
        if result.ok {
            add_output(cx, &step.key, record.response.as_deref());
        }
        tracing::info!(
            step = %step.key,
            ok = result.ok,
            attempts = result.attempts,
            status = result.response.as_ref().map(|r| r.status),
            "step finished"
        );
        Ok(Some(StepEnd {
            ok: result.ok,
            error: result.error,
            record,
        }))
    }

    /// Plans and sends a step's request, retrying as its options say; retries stop once `lost`
    /// is set (the run's lease went to another worker).
    async fn send_step(&self, step: &Step, cx: &RunContext, lost: Option<&AtomicBool>) -> Sent {
        let Action::ExternalAppConnector {
            connector_id,
            options,
            ..
        } = &step.action;
        let connector = match self.connectors.for_run(connector_id).await {
            Ok(Some(c)) => c,
            Ok(None) => return Sent::failed(None, "The step's connector was deleted."),
            Err(error) => {
                let mut sent = Sent::failed(None, "The connector could not be loaded.");
                sent.interrupted = Some(Interrupted::Storage(error.to_string()));
                return sent;
            }
        };
        let planned = match plan_for(&connector, &step.action, cx) {
            Ok(p) => p,
            Err(e) => return Sent::failed(None, &e),
        };
        let shown = planned.shown();
        let Some(secrets) = connector.secrets.as_ref() else {
            return Sent::failed(
                Some(shown),
                &format!(
                    "connector “{}” is missing a stored secret (its authentication's or a secret header's); enter it again in Settings › Connectors.",
                    connector.record.name
                ),
            );
        };
        let forms = &connector.redaction_forms;
        // The connector's limit counts requests in flight: each attempt takes a place and gives
        // it back before it waits to retry, so a step backing off does not hold up the others.
        let semaphore = self.limit(connector_id);
        let mut place = semaphore.clone().acquire_owned().await.ok();
        // Timed from here: the wait for the connector's limit is not the API's time.
        let sending = std::time::Instant::now();
        let policy = options.retry_policy();
        let timeout = Duration::from_secs(u64::from(options.timeout_seconds.clamp(1, 300)));
        let mut attempt = 1;
        let sent = loop {
            if place.is_none() {
                place = semaphore.clone().acquire_owned().await.ok();
            }
            let sent = self
                .send_following(
                    &planned,
                    secrets,
                    &connector.record.base_url,
                    options.follow_redirects,
                    timeout,
                    read_past(forms),
                )
                .await;
            let (outcome, retry_after) = match &sent {
                Ok(r) => (
                    Outcome::Status(r.status),
                    r.header("retry-after")
                        .and_then(|v| parse_retry_after(v, now_ms() / 1000)),
                ),
                Err(SendFailure::Blocked(_)) | Err(SendFailure::Other(_)) => {
                    (Outcome::NotSent, None)
                }
                Err(_) => (Outcome::ConnectionError, None),
            };
            let wait = policy.wait_before(attempt + 1, outcome, retry_after, rand::random::<f64>());
            match (sent, wait) {
                (Ok(received), None) => {
                    self.touch(connector_id).await;
                    let response = shown_response(&received, forms, self.config.max_body);
                    let ok = outcome.succeeded();
                    let error = (!ok).then(|| {
                        format!(
                            "The API answered {}{}.",
                            received.status,
                            reqwest::StatusCode::from_u16(received.status)
                                .ok()
                                .and_then(|s| s.canonical_reason())
                                .map(|r| format!(" {r}"))
                                .unwrap_or_default()
                        )
                    });
                    break Sent {
                        ok,
                        attempts: attempt as i64,
                        request: Some(shown),
                        response: Some(response),
                        error,
                        interrupted: None,
                    };
                }
                (Err(failure), None) => {
                    break Sent {
                        ok: false,
                        attempts: attempt as i64,
                        request: Some(shown),
                        response: None,
                        error: Some(failure.to_string()),
                        interrupted: None,
                    };
                }
                (_, Some(_)) if lost.is_some_and(|l| l.load(Ordering::SeqCst)) => {
                    break Sent {
                        ok: false,
                        attempts: attempt as i64,
                        request: Some(shown),
                        response: None,
                        error: Some("Stopped retrying: another worker took over the run.".into()),
                        interrupted: Some(Interrupted::LeaseLost),
                    };
                }
                (_, Some(wait)) => {
                    crate::metrics::step_retried(&connector.record.name);
                    tracing::info!(
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "retrying a step"
                    );
                    drop(place.take());
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        };
        crate::metrics::step_finished(&connector.record.name, sent.ok, sending.elapsed());
        sent
    }

    /// Sends, and follows redirects when asked: at most 5, each re-checked by the network
    /// policy; the credentials go only to the connector's origin. A query key that a redirect's
    /// `Location` echoes is taken off the next URL (and added again only on the origin).
    /// The body is read `read_past` bytes beyond the cap (see [`read_past`]).
    async fn send_following(
        &self,
        planned: &PlannedRequest,
        secrets: &Secrets,
        base_url: &str,
        follow: bool,
        timeout: Duration,
        read_past: usize,
    ) -> Result<Received, SendFailure> {
        let outbound = self.connectors.outbound();
        let max_body = self.config.max_body + read_past;
        let mut received = outbound.send(planned, secrets, timeout, max_body).await?;
        if !follow {
            return Ok(received);
        }
        let mut current = planned.clone();
        for _ in 0..5 {
            if !matches!(received.status, 301 | 302 | 303 | 307 | 308) {
                return Ok(received);
            }
            let Some(location) = received.header("location") else {
                return Ok(received);
            };
            let next = reqwest::Url::parse(&current.url)
                .and_then(|u| u.join(location))
                .map_err(|_| SendFailure::Other("the redirect location is not a URL".into()))?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(SendFailure::Blocked(
                    "the redirect goes to a URL that is not http or https".into(),
                ));
            }
            current.url = match &secrets.auth {
                Auth::Query { param_name, .. } => without_query_param(next.as_str(), param_name),
                _ => next.to_string(),
            };
            if matches!(received.status, 301..=303) {
                current.method = HttpMethod::Get;
                current.body = None;
                current
                    .headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            }
            let same_origin = check_same_origin(base_url, &current.url).is_ok();
            let none = Secrets::none();
            let credentials = if same_origin { secrets } else { &none };
            received = outbound
                .send(&current, credentials, timeout, max_body)
                .await?;
        }
        Ok(received)
    }

    fn limit(&self, connector_id: &str) -> Arc<Semaphore> {
        let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        limits
            .entry(connector_id.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.per_connector.max(1))))
            .clone()
    }

    async fn audit(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        detail: Value,
        ip: &str,
    ) -> Result<(), AppError> {
        self.store
            .audit_by(caller, action, target, detail, ip)
            .await
            .map_err(internal)
    }
}

/// The result of sending a step.
struct Sent {
    ok: bool,
    attempts: i64,
    request: Option<ShownRequest>,
    response: Option<ShownResponse>,
    error: Option<String>,
    /// Set when the step did not end on its own merits, so is not recorded as it ended.
    interrupted: Option<Interrupted>,
}

/// Why a step was left unfinished rather than failed.
enum Interrupted {
    /// Retries stopped: this worker's lease may have gone to another.
    LeaseLost,
    /// Its connector could not be read from the database.
    Storage(String),
}

impl Sent {
    fn failed(request: Option<ShownRequest>, error: &str) -> Sent {
        Sent {
            ok: false,
            attempts: 0,
            request,
            response: None,
            error: Some(error.to_owned()),
            interrupted: None,
        }
    }
}

/// Why a run stopped before its end.
enum RunFault {
    /// It cannot run: its stored definition or input cannot be read. The run fails.
    Broken(String),
    /// The database failed, through every retry of the write or read. The run is not failed: a
    /// worker resumes it from its last recorded step once its lease runs out.
    Storage(String),
}

impl From<StoreError> for RunFault {
    /// A row the database refuses is refused again on every try: that fails the run.
    fn from(error: StoreError) -> RunFault {
        if error.is_a_rows_fault() {
            RunFault::Broken(error.to_string())
        } else {
            RunFault::Storage(error.to_string())
        }
    }
}

/// The waits between tries of a run's database write or read that failed (a failover, the pool's
/// acquire timeout under load, SQLite busy past its timeout): a brief fault neither fails a run
/// nor has its last step sent again. About 2.6 s in all, well inside a lease.
const STORAGE_RETRY_WAITS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

/// `attempt`, tried again after each of `STORAGE_RETRY_WAITS` while it fails as a whole (not
/// on one row: a constraint fails the same way every time).
async fn retried<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    for wait in STORAGE_RETRY_WAITS {
        match attempt().await {
            Err(error) if !error.is_a_rows_fault() => {
                tracing::warn!(%error, wait_ms = wait.as_millis() as u64, "{what} failed; trying again");
                tokio::time::sleep(wait).await;
            }
            done => return done,
        }
    }
    attempt().await
}

fn plan_for(
    connector: &RunConnector,
    action: &Action,
    cx: &RunContext,
) -> Result<PlannedRequest, String> {
    plan(
        &ConnectorPlan {
            name: &connector.record.name,
            enabled: connector.record.enabled,
            base_url: &connector.record.base_url,
            headers: &connector.headers,
            secret_headers: &connector.secret_headers,
            auth: &connector.settings,
        },
        action,
        cx,
    )
    .map_err(|e| e.0)
}

/// Bytes read past the body cap: the longest form of the secret, so that a secret across the
/// cut is redacted whole before the body is cut (see `shown_response`). Up to ~48 KiB for a
/// 4,096-character non-ASCII secret percent-encoded.
fn read_past(forms: &[SecretString]) -> usize {
    forms
        .iter()
        .map(|f| f.expose_secret().len())
        .max()
        .unwrap_or(0)
}

/// A response as stored and shown: the body cut at `max_body` bytes with no part of a secret
/// kept at the cut, and every form of the connector's secret redacted (`redact_cut`).
fn shown_response(received: &Received, forms: &[SecretString], max_body: usize) -> ShownResponse {
    let forms: Vec<&str> = forms.iter().map(|f| f.expose_secret()).collect();
    let (body, truncated) = redact_cut(
        &String::from_utf8_lossy(&received.body),
        &forms,
        max_body,
        received.truncated,
    );
    ShownResponse {
        status: received.status,
        headers: received
            .headers
            .iter()
            .map(|(k, v)| {
                let v = redact(v, &forms);
                let v = if k.eq_ignore_ascii_case("set-cookie") {
                    mask_set_cookie(&v)
                } else {
                    v
                };
                (k.clone(), v)
            })
            .collect(),
        body,
        truncated,
    }
}

/// Makes a finished step's result available to later steps as `steps.<key>`.
fn add_output(cx: &mut RunContext, key: &str, response: Option<&str>) {
    let Some(response) = response.and_then(|r| serde_json::from_str::<ShownResponse>(r).ok())
    else {
        return;
    };
    let headers: serde_json::Map<String, Value> = response
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone())))
        .collect();
    let body = serde_json::from_str::<Value>(&response.body)
        .unwrap_or_else(|_| Value::String(response.body.clone()));
    cx.add_step(key, response.status, Value::Object(headers), body);
}

fn continue_on_failure(step: &Step) -> bool {
    let Action::ExternalAppConnector { options, .. } = &step.action;
    options.continue_on_failure
}

fn step_failure(position: usize, step: &Step, error: Option<&str>) -> String {
    format!(
        "Step {} “{}” failed: {}",
        position + 1,
        step.name,
        error.unwrap_or("no reason recorded")
    )
}

/// A run of `workflow`'s saved version with `input`, ready to queue (the caller bounds its size).
pub fn new_run(
    workflow: &WorkflowRecord,
    input: &Value,
    started_by: &str,
) -> Result<NewRun, AppError> {
    let input = serde_json::to_string(input).map_err(internal)?;
    Ok(NewRun {
        id: uuid::Uuid::now_v7().to_string(),
        workflow_id: workflow.id.clone(),
        workflow_name: workflow.name.clone(),
        workflow_version: workflow.version,
        definition: workflow.definition.clone(),
        trigger_type: workflow.trigger_type.clone(),
        started_by: started_by.to_owned(),
        input,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn summary(run: &RunRecord) -> RunSummary {
    RunSummary {
        id: run.id.clone(),
        workflow_id: run.workflow_id.clone(),
        workflow_name: run.workflow_name.clone(),
        status: run.status.clone(),
        trigger_type: run.trigger_type.clone(),
        started_by: run.started_by.clone(),
        error: run.error.clone(),
        queued_at: run.queued_at,
        started_at: run.started_at,
        finished_at: run.finished_at,
    }
}

fn internal(error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "run service failed");
    AppError::Internal
}

const STATUSES: [&str; 4] = ["queued", "running", "succeeded", "failed"];

#[async_trait]
impl RunService for Runs {
    async fn start(
        &self,
        caller: &Caller,
        workflow_id: &str,
        input: Option<Value>,
        ip: &str,
    ) -> Result<RunSummary, AppError> {
        require(Some(caller), Permission::RunWorkflows)?;
        let workflow = crate::workflows::existing(&self.store, workflow_id).await?;
        if !workflow.enabled {
            return Err(AppError::conflict(format!(
                "Workflow “{}” is disabled; enable it to run it.",
                workflow.name
            )));
        }
        let definition = Definition::parse(&workflow.id, &workflow.definition).map_err(internal)?;
        let sample = input.is_none();
        let input = input.unwrap_or_else(|| definition.trigger.sample_input());
        let what = if sample {
            "The workflow's sample input (used when a run is started without one)"
        } else {
            "The input"
        };
        domain::decode::check_json_depth(&input, what)
            .map_err(|message| AppError::invalid("input", message))?;
        let new = new_run(&workflow, &input, &caller.actor)?;
        if new.input.len() > MAX_INPUT_BYTES {
            // A sample saved before samples were limited is named as such.
            return Err(AppError::invalid(
                "input",
                format!(
                    "{what} is larger than {} KiB; send a smaller one.",
                    MAX_INPUT_BYTES / 1024
                ),
            ));
        }
        let audit = NewAuditEntry::by(
            caller,
            "run.started",
            &workflow.name,
            json!({ "workflow_id": workflow.id, "run_id": new.id, "version": workflow.version }),
            ip,
        );
        let run = self
            .queue_audited("manual", new, Some(audit))
            .await
            .map_err(|error| {
                if error.is_missing_reference() {
                    AppError::not_found(format!(
                        "The workflow “{}” was deleted as the run was being started.",
                        workflow.name
                    ))
                } else {
                    internal(error)
                }
            })?;
        // The answer says what the caller started: a queued run (a free worker may already
        // have it, which the run page shows).
        Ok(RunSummary {
            status: "queued".into(),
            started_at: None,
            ..summary(&run)
        })
    }

    async fn list(&self, caller: &Caller, query: &RunQuery) -> Result<Vec<RunSummary>, AppError> {
        require(Some(caller), Permission::Read)?;
        if let Some(status) = &query.status
            && !STATUSES.contains(&status.as_str())
        {
            return Err(AppError::invalid(
                "status",
                "Filter by status queued, running, succeeded or failed.",
            ));
        }
        let runs = self
            .store
            .runs(&RunFilter {
                workflow_id: query.workflow_id.clone().filter(|w| !w.is_empty()),
                status: query.status.clone(),
                since: match (query.since, query.within_hours) {
                    (since, Some(hours)) if hours > 0 => {
                        let window = now_ms() - hours.min(24 * 366) * 3_600_000;
                        Some(since.map_or(window, |s| s.max(window)))
                    }
                    (since, _) => since,
                },
                before: query.before,
                before_id: query.before_id.clone().filter(|_| query.before.is_some()),
                limit: query.limit.unwrap_or(50).clamp(1, 500),
            })
            .await
            .map_err(internal)?;
        Ok(runs.iter().map(summary).collect())
    }

    async fn get(&self, caller: &Caller, id: &str) -> Result<RunView, AppError> {
        require(Some(caller), Permission::Read)?;
        let run = self
            .store
            .run(id)
            .await
            .map_err(internal)?
            .ok_or_else(|| AppError::not_found(format!("There is no run {id}.")))?;
        let steps = self.store.run_steps(id).await.map_err(internal)?;
        Ok(RunView {
            id: run.id.clone(),
            workflow_id: run.workflow_id.clone(),
            workflow_name: run.workflow_name.clone(),
            workflow_version: run.workflow_version,
            status: run.status.clone(),
            trigger_type: run.trigger_type.clone(),
            started_by: run.started_by.clone(),
            error: run.error.clone(),
            input: serde_json::from_str(&run.input).unwrap_or(Value::Null),
            queued_at: run.queued_at,
            started_at: run.started_at,
            finished_at: run.finished_at,
            resumed: run.claims > 1,
            steps: steps
                .into_iter()
                .map(|s| RunStepView {
                    duration_ms: s.finished_at.map(|f| f - s.started_at),
                    request: s.request.and_then(|r| serde_json::from_str(&r).ok()),
                    response: s.response.and_then(|r| serde_json::from_str(&r).ok()),
                    key: s.key,
                    name: s.name,
                    status: s.status,
                    attempts: s.attempts,
                    error: s.error,
                    started_at: s.started_at,
                    finished_at: s.finished_at,
                })
                .collect(),
        })
    }

    async fn test_step(
        &self,
        caller: &Caller,
        test: StepTest,
        ip: &str,
    ) -> Result<StepTestResult, AppError> {
        require(Some(caller), Permission::RunWorkflows)?;
        let Some(connector_id) = test.step.action.connector_id().map(str::to_owned) else {
            return Err(AppError::invalid(
                "action.connector_id",
                "Select a connector.",
            ));
        };
        let Some(connector) = self.connectors.for_run(&connector_id).await? else {
            return Err(AppError::invalid(
                "action.connector_id",
                "The selected connector no longer exists; select another.",
            ));
        };
        // The audit log names the workflow as stored, not as the caller said it: a test of an
        // unsaved workflow, or of one under another name, is not credited to a workflow it is not.
        let stored_workflow = match test.workflow_id.as_deref() {
            Some(id) => self.store.workflow(id).await.map_err(|error| {
                tracing::error!(%error, "test this step: could not read the workflow");
                AppError::Internal
            })?,
            None => None,
        };
        let cx = RunContext::new(test.trigger.sample_input())
            .workflow(
                test.workflow_id.as_deref().unwrap_or("unsaved"),
                &test.workflow_name,
            )
            .run("test", &iso(now_ms()));
        // One attempt: a test shows what happens, it does not insist.
        let mut step = test.step.clone();
        let Action::ExternalAppConnector { options, .. } = &mut step.action;
        options.attempts = 1;
        let started = std::time::Instant::now();
        let sent = self.send_step(&step, &cx, None).await;
        let result = StepTestResult {
            request: sent.request,
            response: sent.response,
            error: sent.error,
            duration_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
        };
        let target = stored_workflow
            .as_ref()
            .map_or("(unsaved workflow)", |w| w.name.as_str());
        self.audit(
            caller,
            "step.tested",
            target,
            json!({
                "workflow_id": stored_workflow.as_ref().map(|w| w.id.clone()),
                "step": test.step.key,
                "connector_id": connector_id,
                "connector": connector.record.name,
                "method": result.request.as_ref().map(|r| r.method.clone()),
                // As shown to people: credentials in the address are masked.
                "url": result.request.as_ref().map(|r| r.url.clone()),
                "status": result.response.as_ref().map(|r| r.status),
                "ok": result.error.is_none(),
            }),
            ip,
        )
        .await?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(body: &str) -> Received {
        Received {
            status: 200,
            headers: vec![
                ("x-echo".into(), "Bearer tok-123456".into()),
                ("Set-Cookie".into(), "sid=s3ss10n; Path=/; HttpOnly".into()),
            ],
            body: body.as_bytes().to_vec(),
            truncated: false,
            latency: Duration::ZERO,
        }
    }

    #[test]
    fn a_secret_across_the_cap_is_redacted_whole_before_the_cut() {
        let forms = [SecretString::from("tok-123456")];
        // The secret starts 4 bytes before the cap: cut first, its first 4 bytes would remain.
        let body = format!("{}tok-123456 and more", "a".repeat(96));
        let shown = shown_response(&received(&body), &forms, 100);
        assert!(shown.truncated);
        assert_eq!(shown.body, "a".repeat(96));
        assert_eq!(shown.headers[0].1, "Bearer [REDACTED]");
        // An upstream's session cookie is masked too; its name and attributes are kept.
        assert_eq!(shown.headers[1].1, "sid=[REDACTED]; Path=/; HttpOnly");
        // A short body is kept whole.
        let shown = shown_response(&received("ok tok-123456"), &forms, 100);
        assert!(!shown.truncated);
        assert_eq!(shown.body, "ok [REDACTED]");
    }

    #[test]
    fn a_secret_longer_than_the_marker_is_not_pulled_under_the_cap() {
        // Redacted first, the whole copy would shrink the text by 30 bytes and bring the first
        // 10 characters of the copy the reader stopped inside (cap + read margin) under the cap.
        let secret = "k3y-0123456789abcdefghijklmnopqrstuvwxyz";
        let forms = [SecretString::from(secret)];
        let cap = 100;
        let body = format!("{}{secret}{}{secret} more", "a".repeat(30), "b".repeat(50));
        let read = &body[..cap + read_past(&forms)];
        let mut answer = received(read);
        answer.truncated = true;
        let shown = shown_response(&answer, &forms, cap);
        assert!(shown.truncated);
        assert_eq!(
            shown.body,
            format!("{}[REDACTED]{}", "a".repeat(30), "b".repeat(30))
        );
    }

    #[test]
    fn the_read_margin_covers_the_longest_form_of_a_secret() {
        let auth = Auth::Bearer {
            token: SecretString::from("é".repeat(4096)),
        };
        let forms = auth.redaction_forms();
        let encoded = "%C3%A9".repeat(4096);
        assert!(read_past(&forms) >= encoded.len(), "{}", read_past(&forms));
        // Percent-encoded across the cap, read up to the cap plus the margin: redacted whole.
        let cap = 100;
        let body = format!("{}{encoded} and more", "a".repeat(cap - 4));
        let read = &body[..(cap + read_past(&forms)).min(body.len())];
        let shown = shown_response(&received(read), &forms, cap);
        assert!(shown.truncated);
        assert!(!shown.body.contains('%'), "{}", shown.body);
        assert!(read_past(&[]) == 0);
    }

    #[test]
    fn the_cut_respects_character_boundaries() {
        let shown = shown_response(&received(&"é".repeat(60)), &[], 101);
        assert_eq!(shown.body.len(), 100);
        assert!(shown.truncated);
    }
}
