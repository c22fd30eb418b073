//! What the triggers keep: each webhook's token and signing secret (sealed by the vault), and
//! the claims that make a trigger start its runs exactly once: an `Idempotency-Key`, an event
//! id, a schedule tick. A claim row is inserted in the same transaction as the runs it starts;
//! its primary key decides a race between requests or replicas.

use super::runs::runs_insert;
use super::{Store, StoreError, WorkflowRecord, from_row, now_ms, on_pool};
use crate::storage::NewRun;
use std::sync::Arc;

/// How long a webhook found by its token is used again without reading it. A change made
/// through this process (editing, disabling or deleting the workflow, a new token or signing
/// secret) applies to the next call; another replica's, within this.
pub const HOOK_CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// How long an `Idempotency-Key` or an event id is remembered.
pub const CLAIM_MEMORY_MS: i64 = 24 * 3600 * 1000;

/// A webhook's row; the ciphertexts are opaque here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    pub workflow_id: String,
    pub token_ciphertext: String,
    pub secret_ciphertext: Option<String>,
    pub key_version: i64,
    pub created_at: i64,
    pub rotated_at: i64,
}
from_row!(WebhookRecord {
    workflow_id,
    token_ciphertext,
    secret_ciphertext,
    key_version,
    created_at,
    rotated_at
});

/// A webhook call with an `Idempotency-Key` was…
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookQueued {
    /// …new: its run is queued.
    Started(Box<super::RunRecord>),
    /// …seen within the last day: the run it started then, and whether the body was the same.
    Replayed { run_id: String, same_body: bool },
}

/// An event was…
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventQueued {
    /// …new: these runs are queued (possibly none).
    Started(Vec<super::RunRecord>),
    /// …received within the last day: the runs (workflow id, run id) it started then.
    Duplicate(Vec<(String, String)>),
}

/// One event of a batch to queue: its id, type and the runs it starts.
#[derive(Debug, Clone)]
pub struct EventToQueue {
    pub id: String,
    pub event_type: String,
    pub runs: Vec<NewRun>,
}

/// An enabled scheduled workflow and the last tick claimed for it.
#[derive(Debug, Clone)]
pub struct ScheduledWorkflow {
    pub workflow: WorkflowRecord,
    pub last_tick: Option<i64>,
}

/// A webhook joined with its workflow.
struct HookRow {
    workflow: WorkflowRecord,
    token_ciphertext: String,
    secret_ciphertext: Option<String>,
    key_version: i64,
    hook_created_at: i64,
    rotated_at: i64,
}
from_row!(HookRow { workflow(flatten), token_ciphertext, secret_ciphertext, key_version, hook_created_at, rotated_at });

struct ScheduledRow {
    workflow: WorkflowRecord,
    last_tick: Option<i64>,
}
from_row!(ScheduledRow { workflow(flatten), last_tick });

const WEBHOOK_COLUMNS: &str =
    "workflow_id, token_ciphertext, secret_ciphertext, key_version, created_at, rotated_at";

const WORKFLOW_COLUMNS: &str = "w.id, w.name, w.description, w.enabled, w.trigger_type, \
     w.definition, w.version, w.created_at, w.updated_at, w.updated_by";

impl Store {
    pub async fn webhook(&self, workflow_id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE workflow_id = $1");
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, WebhookRecord>(&sql)
                .bind(workflow_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The workflow whose webhook token hashes to `token_hash`, with its webhook: one query at
    /// most once per [`HOOK_CACHE_FOR`] (it is on every webhook call's path).
    pub async fn webhook_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Arc<(WebhookRecord, WorkflowRecord)>>, StoreError> {
        if let Some(found) = self.hooks.get(token_hash) {
            return Ok(Some(found));
        }
        // Taken before the read: a change made while it runs keeps its result out of the cache.
        let before = self.hooks.changes();
        let sql = format!(
            "SELECT {WORKFLOW_COLUMNS}, h.token_ciphertext, h.secret_ciphertext, h.key_version, \
             h.created_at AS hook_created_at, h.rotated_at \
             FROM webhooks h JOIN workflows w ON w.id = h.workflow_id WHERE h.token_hash = $1"
        );
        let row = on_pool!(self, |pool| {
            sqlx::query_as::<_, HookRow>(&sql)
                .bind(token_hash)
                .fetch_optional(pool)
                .await?
        });
        // Only webhooks found are kept: what callers with unknown tokens send leaves no trace.
        Ok(row.map(|row| {
            let found = (
                WebhookRecord {
                    workflow_id: row.workflow.id.clone(),
                    token_ciphertext: row.token_ciphertext,
                    secret_ciphertext: row.secret_ciphertext,
                    key_version: row.key_version,
                    created_at: row.hook_created_at,
                    rotated_at: row.rotated_at,
                },
                row.workflow,
            );
            self.hooks.put_if_unchanged(token_hash, found, before)
        }))
    }

    /// Forgets every webhook found by its token: called after each write to a workflow or a
    /// webhook. A read that ran across the write is not kept.
    pub(super) fn webhooks_changed(&self) {
        self.hooks.clear();
    }

    /// Gives a workflow its webhook token unless it has one; false when it already had one (a
    /// concurrent first view), so the caller re-reads.
    pub async fn insert_webhook(
        &self,
        workflow_id: &str,
        token_hash: &str,
        token_ciphertext: &str,
        key_version: i64,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO webhooks (workflow_id, token_hash, token_ciphertext, key_version, \
                 created_at, rotated_at) VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (workflow_id) DO NOTHING",
            )
            .bind(workflow_id)
            .bind(token_hash)
            .bind(token_ciphertext)
            .bind(key_version)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.webhooks_changed();
        Ok(done == 1)
    }

    /// Replaces the token: the old URL stops working with this statement.
    pub async fn rotate_webhook_token(
        &self,
        workflow_id: &str,
        token_hash: &str,
        token_ciphertext: &str,
        key_version: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE webhooks SET token_hash = $2, token_ciphertext = $3, key_version = $4, \
                 rotated_at = $5 WHERE workflow_id = $1",
            )
            .bind(workflow_id)
            .bind(token_hash)
            .bind(token_ciphertext)
            .bind(key_version)
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.webhooks_changed();
        Ok(done == 1)
    }

    /// Sets (or, with `None`, removes) the signing secret.
    pub async fn set_webhook_secret(
        &self,
        workflow_id: &str,
        secret_ciphertext: Option<&str>,
        key_version: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE webhooks SET secret_ciphertext = $2, key_version = $3 WHERE workflow_id = $1",
            )
            .bind(workflow_id)
            .bind(secret_ciphertext)
            .bind(key_version)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.webhooks_changed();
        Ok(done == 1)
    }

    /// Every webhook's sealed values, for key rotation.
    pub async fn webhook_secrets(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY workflow_id");
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, WebhookRecord>(&sql)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Queues a webhook's run under its `Idempotency-Key` (`key`, and the SHA-256 of the body):
    /// the first call with a key starts the run; a later one within a day gets that run back.
    pub async fn queue_webhook_run(
        &self,
        run: &NewRun,
        key: &str,
        body_hash: &str,
    ) -> Result<WebhookQueued, StoreError> {
        // Twice at most: the row that refused the claim may be purged (a day old) before it is read.
        for _ in 0..2 {
            if let Some(queued) = self.try_queue_webhook_run(run, key, body_hash).await? {
                return Ok(queued);
            }
        }
        Err(StoreError::Corrupt(
            "an Idempotency-Key claim neither succeeded nor could be read".into(),
        ))
    }

    async fn try_queue_webhook_run(
        &self,
        run: &NewRun,
        key: &str,
        body_hash: &str,
    ) -> Result<Option<WebhookQueued>, StoreError> {
        let now = now_ms();
        let started = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            // A write first: SQLite takes its write lock here instead of failing to upgrade.
            sqlx::query(
                "DELETE FROM webhook_calls WHERE workflow_id = $1 AND idempotency_key = $2 \
                 AND received_at < $3",
            )
            .bind(&run.workflow_id)
            .bind(key)
            .bind(now - CLAIM_MEMORY_MS)
            .execute(&mut *tx)
            .await?;
            let claimed = sqlx::query(
                "INSERT INTO webhook_calls (workflow_id, idempotency_key, body_hash, run_id, \
                 received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(&run.workflow_id)
            .bind(key)
            .bind(body_hash)
            .bind(&run.id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if claimed {
                runs_insert!([(run, None)], now)
                    .build()
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            claimed
        });
        if started {
            return Ok(Some(WebhookQueued::Started(Box::new(
                run.queued(now, None),
            ))));
        }
        let earlier = on_pool!(self, |pool| {
            sqlx::query_as::<_, (String, String)>(
                "SELECT body_hash, run_id FROM webhook_calls WHERE workflow_id = $1 \
                 AND idempotency_key = $2",
            )
            .bind(&run.workflow_id)
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        Ok(earlier.map(|(hash, run_id)| WebhookQueued::Replayed {
            run_id,
            same_body: hash == body_hash,
        }))
    }

    /// Records each event and queues its runs, unless its id was received within the last day
    /// (or earlier in the batch), all in one transaction: a fault part-way queues nothing, so a
    /// retry cannot start the first events again. A run's workflow deleted since the caller listed
    /// the listeners gets no run (it is left out of the answer and of the event's record); the
    /// workflows are read in the transaction, locked against deletion on PostgreSQL and behind
    /// SQLite's write lock, which the transaction's first statement takes.
    pub async fn queue_event_batch(
        &self,
        events: &[EventToQueue],
    ) -> Result<Vec<EventQueued>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let postgres = self.backend() == super::Backend::Postgres;
        let lock = if postgres { " FOR SHARE" } else { "" };
        let mut ids: Vec<&str> = events
            .iter()
            .flat_map(|e| e.runs.iter().map(|r| r.workflow_id.as_str()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let answers = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            // Claims older than a day are forgotten. On PostgreSQL their rows are locked in id
            // order first, as the claims below are, so concurrent batches cannot deadlock.
            let mut stale = sqlx::QueryBuilder::new(if postgres {
                "DELETE FROM events_received WHERE event_id IN (SELECT event_id \
                 FROM events_received WHERE received_at < "
            } else {
                "DELETE FROM events_received WHERE received_at < "
            });
            stale.push_bind(now - CLAIM_MEMORY_MS);
            stale.push(" AND event_id IN (");
            let mut list = stale.separated(", ");
            for event in events {
                list.push_bind(&event.id);
            }
            stale.push(if postgres {
                ") ORDER BY event_id FOR UPDATE)"
            } else {
                ")"
            });
            stale.build().persistent(false).execute(&mut *tx).await?;
            let mut alive = std::collections::HashSet::new();
            for part in ids.chunks(256) {
                let mut select = sqlx::QueryBuilder::new("SELECT id FROM workflows WHERE id IN (");
                let mut list = select.separated(", ");
                for id in part {
                    list.push_bind(*id);
                }
                select.push(")");
                select.push(lock);
                let found: Vec<String> = select
                    .build_query_scalar()
                    .persistent(false)
                    .fetch_all(&mut *tx)
                    .await?;
                alive.extend(found);
            }
            // Claimed in order of id (a repeated id after its first): two batches naming the
            // same ids in other orders wait for each other instead of deadlocking on PostgreSQL.
            let mut order: Vec<usize> = (0..events.len()).collect();
            order.sort_by(|a, b| events[*a].id.cmp(&events[*b].id));
            let mut answers = vec![Err(String::new()); events.len()];
            for index in order {
                let event = &events[index];
                let runs: Vec<&NewRun> = event
                    .runs
                    .iter()
                    .filter(|r| alive.contains(&r.workflow_id))
                    .collect();
                let started: Vec<serde_json::Value> = runs
                    .iter()
                    .map(|r| serde_json::json!({ "workflow_id": r.workflow_id, "run_id": r.id }))
                    .collect();
                let claimed = sqlx::query(
                    "INSERT INTO events_received (event_id, event_type, runs, received_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(&event.id)
                .bind(&event.event_type)
                .bind(serde_json::Value::Array(started).to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !claimed {
                    let earlier: String =
                        sqlx::query_scalar("SELECT runs FROM events_received WHERE event_id = $1")
                            .bind(&event.id)
                            .fetch_one(&mut *tx)
                            .await?;
                    answers[index] = Err(earlier);
                    continue;
                }
                // In parts, within the statements' bind limits; not cached: each size is its own
                // statement.
                for part in runs.chunks(256) {
                    runs_insert!(part.iter().map(|run| (*run, None)), now)
                        .build()
                        .persistent(false)
                        .execute(&mut *tx)
                        .await?;
                }
                answers[index] = Ok(runs.iter().map(|r| r.queued(now, None)).collect());
            }
            tx.commit().await?;
            answers
        });
        answers
            .into_iter()
            .map(|answer| match answer {
                Ok(queued) => Ok(EventQueued::Started(queued)),
                Err(earlier) => {
                    let earlier: Vec<serde_json::Value> = serde_json::from_str(&earlier)
                        .map_err(|e| StoreError::Corrupt(format!("events_received.runs: {e}")))?;
                    Ok(EventQueued::Duplicate(
                        earlier
                            .iter()
                            .map(|r| {
                                let field = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                                (field("workflow_id"), field("run_id"))
                            })
                            .collect(),
                    ))
                }
            })
            .collect()
    }

    /// Claims a schedule tick for a workflow and queues its run (`None`: the tick is recorded as
    /// skipped). False when another server claimed the tick first.
    pub async fn claim_tick(
        &self,
        workflow_id: &str,
        tick_at: i64,
        run: Option<&NewRun>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        Ok(on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(
                "INSERT INTO schedule_ticks (workflow_id, tick_at, run_id, claimed_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(workflow_id)
            .bind(tick_at)
            .bind(run.map(|r| &r.id))
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if claimed {
                if let Some(run) = run {
                    runs_insert!([(run, None)], now)
                        .build()
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            claimed
        }))
    }

    /// Ticks claimed for a workflow, oldest first: (tick, run id or `None` when skipped).
    pub async fn schedule_ticks(
        &self,
        workflow_id: &str,
    ) -> Result<Vec<(i64, Option<String>)>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, (i64, Option<String>)>(
                "SELECT tick_at, run_id FROM schedule_ticks WHERE workflow_id = $1 ORDER BY tick_at",
            )
            .bind(workflow_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The enabled workflows with a trigger of `trigger_type` (`event`, `schedule`, …).
    pub async fn enabled_workflows_of(
        &self,
        trigger_type: &str,
    ) -> Result<Vec<WorkflowRecord>, StoreError> {
        let sql = format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows w WHERE w.enabled = $1 AND w.trigger_type = $2 \
             ORDER BY w.id"
        );
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, WorkflowRecord>(&sql)
                .bind(true)
                .bind(trigger_type)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The enabled scheduled workflows with the last tick claimed for each.
    pub async fn scheduled_workflows(&self) -> Result<Vec<ScheduledWorkflow>, StoreError> {
        let sql = format!(
            "SELECT {WORKFLOW_COLUMNS}, (SELECT MAX(t.tick_at) FROM schedule_ticks t \
             WHERE t.workflow_id = w.id) AS last_tick FROM workflows w \
             WHERE w.enabled = $1 AND w.trigger_type = 'schedule' ORDER BY w.id"
        );
        let rows = on_pool!(self, |pool| {
            sqlx::query_as::<_, ScheduledRow>(&sql)
                .bind(true)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| ScheduledWorkflow {
                workflow: r.workflow,
                last_tick: r.last_tick,
            })
            .collect())
    }

    /// Forgets idempotency keys and event ids older than a day, and schedule ticks older than
    /// `ticks_before` except each workflow's last; returns how many rows went.
    pub async fn purge_trigger_claims(&self, ticks_before: i64) -> Result<u64, StoreError> {
        let forget = now_ms() - CLAIM_MEMORY_MS;
        Ok(on_pool!(self, |pool| {
            let calls = sqlx::query("DELETE FROM webhook_calls WHERE received_at < $1")
                .bind(forget)
                .execute(pool)
                .await?
                .rows_affected();
            let events = sqlx::query("DELETE FROM events_received WHERE received_at < $1")
                .bind(forget)
                .execute(pool)
                .await?
                .rows_affected();
            let ticks = sqlx::query(
                "DELETE FROM schedule_ticks WHERE tick_at < $1 AND tick_at < \
                 (SELECT MAX(t.tick_at) FROM schedule_ticks t \
                 WHERE t.workflow_id = schedule_ticks.workflow_id)",
            )
            .bind(ticks_before)
            .execute(pool)
            .await?
            .rows_affected();
            calls + events + ticks
        }))
    }
}
