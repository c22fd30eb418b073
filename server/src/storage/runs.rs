//! Runs and their steps: queued durably, claimed with a lease, resumed after a crash, purged
//! after the retention period.

use std::borrow::Borrow;

use super::{Backend, Store, StoreError, from_row, now_ms, on_pool, on_run_write_pool};

/// A run row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: String,
    pub workflow_id: String,
    pub workflow_name: String,
    pub workflow_version: i64,
    pub definition: String,
    pub trigger_type: String,
    pub started_by: String,
    pub input: String,
    pub status: String,
    pub error: Option<String>,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Who holds the run while it is running: `<process>:<claim number>`, unique per claim.
    pub lease_owner: Option<String>,
    pub claims: i64,
}
from_row!(RunRecord {
    id,
    workflow_id,
    workflow_name,
    workflow_version,
    definition,
    trigger_type,
    started_by,
    input,
    status,
    error,
    queued_at,
    started_at,
    finished_at,
    lease_owner,
    claims
});

/// A step row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStepRecord {
    pub position: i64,
    pub key: String,
    pub name: String,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub request: Option<String>,
    pub response: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}
from_row!(RunStepRecord {
    position,
    key,
    name,
    status,
    attempts,
    error,
    request,
    response,
    started_at,
    finished_at
});

/// What queuing a run writes.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: String,
    pub workflow_id: String,
    pub workflow_name: String,
    pub workflow_version: i64,
    pub definition: String,
    pub trigger_type: String,
    pub started_by: String,
    pub input: String,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub workflow_id: Option<String>,
    pub status: Option<String>,
    /// Queued at or after (epoch ms).
    pub since: Option<i64>,
    /// Queued before (epoch ms): the next page.
    pub before: Option<i64>,
    /// With `before`: also the runs queued in that same millisecond whose id sorts before this
    /// one, so a page that ends inside a millisecond (an event batch queues its runs in one)
    /// is followed by the rest of it.
    pub before_id: Option<String>,
    pub limit: i64,
}

/// A run claimed as it is queued, for a worker of this process that is waiting for it.
#[derive(Debug, Clone)]
pub struct InsertClaim {
    /// This process's lease prefix (see [`lease_owner`]).
    pub process: String,
    pub lease_ms: i64,
}

/// The lease owner of a process's `claims`-th claim of a run: unique per claim, so a run claimed
/// again by the same process (its lease ran out) is not recorded by the worker that lost it.
pub fn lease_owner(process: &str, claims: i64) -> String {
    format!("{process}:{claims}")
}

impl NewRun {
    /// The row `insert_run` writes at `now`.
    pub(super) fn queued(&self, now: i64, claim: Option<&InsertClaim>) -> RunRecord {
        RunRecord {
            id: self.id.clone(),
            workflow_id: self.workflow_id.clone(),
            workflow_name: self.workflow_name.clone(),
            workflow_version: self.workflow_version,
            definition: self.definition.clone(),
            trigger_type: self.trigger_type.clone(),
            started_by: self.started_by.clone(),
            input: self.input.clone(),
            status: if claim.is_some() { "running" } else { "queued" }.into(),
            error: None,
            queued_at: now,
            started_at: claim.map(|_| now),
            finished_at: None,
            lease_owner: claim.map(|c| lease_owner(&c.process, 1)),
            claims: i64::from(claim.is_some()),
        }
    }
}

/// The statement that queues `$rows` — `(&NewRun, Option<&InsertClaim>)` pairs, each claimed
/// at once when its claim is given — at `$now`: a `QueryBuilder` for whichever backend executes
/// it.
macro_rules! runs_insert {
    ($rows:expr, $now:expr) => {{
        let now: i64 = $now;
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO runs (id, workflow_id, workflow_name, workflow_version, definition, \
             trigger_type, started_by, input, status, queued_at, started_at, lease_owner, \
             lease_until, claims) ",
        );
        insert.push_values(
            $rows,
            |mut row,
             (run, claim): (
                &$crate::storage::NewRun,
                Option<&$crate::storage::InsertClaim>,
            )| {
                row.push_bind(&run.id)
                    .push_bind(&run.workflow_id)
                    .push_bind(&run.workflow_name)
                    .push_bind(run.workflow_version)
                    .push_bind(&run.definition)
                    .push_bind(&run.trigger_type)
                    .push_bind(&run.started_by)
                    .push_bind(&run.input)
                    .push_bind(if claim.is_some() { "running" } else { "queued" })
                    .push_bind(now)
                    .push_bind(claim.map(|_| now))
                    .push_bind(claim.map(|c| $crate::storage::lease_owner(&c.process, 1)))
                    .push_bind(claim.map(|c| now + c.lease_ms))
                    .push_bind(i64::from(claim.is_some()));
            },
        );
        insert
    }};
}
pub(super) use runs_insert;

/// A write on a run's hot path. The run writer applies many, from many tasks, in one
/// transaction ([`Store::write_runs`]).
#[derive(Debug, Clone)]
pub enum RunWrite {
    /// Queue a run, claimed at once when a worker of this process is waiting for it.
    Insert {
        run: NewRun,
        claim: Option<InsertClaim>,
        /// An audit entry written in the same transaction (who started the run by hand).
        audit: Option<Box<super::NewAuditEntry>>,
    },
    /// Claim up to `limit` runs for `process`: runs whose lease ran out (their worker stopped)
    /// first, then the oldest queued.
    Claim {
        process: String,
        lease_ms: i64,
        limit: i64,
    },
    /// Record a step (started, or finished) while `owner` holds the run.
    Step {
        run_id: String,
        owner: String,
        step: RunStepRecord,
    },
    /// Record the last step, if any, and end the run, while `owner` holds it.
    Finish {
        run_id: String,
        owner: String,
        status: &'static str,
        error: Option<String>,
        step: Option<RunStepRecord>,
    },
}

/// What a [`RunWrite`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunWritten {
    /// The run as written.
    Inserted(Box<RunRecord>),
    /// The runs claimed, oldest first.
    Claimed(Vec<RunRecord>),
    /// Whether the owner still held the run (nothing was written when it did not).
    Held(bool),
}

impl RunWritten {
    /// The error for a write answered with the wrong variant. It names the variant only: not
    /// its runs, whose input and definition have no place in a log line.
    pub fn unexpected(self) -> StoreError {
        let kind = match self {
            RunWritten::Inserted(_) => "Inserted",
            RunWritten::Claimed(_) => "Claimed",
            RunWritten::Held(_) => "Held",
        };
        StoreError::Corrupt(format!("a run write returned {kind}"))
    }
}

/// Applies `$writes` (a slice of [`RunWrite`]) on `$conn`, a transaction of either backend, at
/// `$now`, with a few statements whatever their number: one for the runs queued, one per claim,
/// one for the steps recorded (a finish's last step included), one for the runs ended. One worker
/// never has two writes of a run in flight; the runs queued are written first, so a claim can
/// take them, and the claims last, so an owner's step or finish wins over a claim of its expired
/// lease in the same batch. A macro, so the statements compile for both backends.
macro_rules! apply_run_batch {
    ($conn:expr, $backend:expr, $writes:expr, $now:expr) => {
        async {
            let writes: Vec<&RunWrite> = $writes.iter().map(Borrow::borrow).collect();
            let now: i64 = $now;
            let mut done: Vec<Option<RunWritten>> = vec![None; writes.len()];

            let queued: Vec<(usize, (&NewRun, Option<&InsertClaim>))> = writes
                .iter()
                .enumerate()
                .filter_map(|(i, w)| match *w {
                    RunWrite::Insert { run, claim, .. } => Some((i, (run, claim.as_ref()))),
                    _ => None,
                })
                .collect();
            if !queued.is_empty() {
                let one_row = queued.len() == 1;
                let mut insert = runs_insert!(queued.iter().map(|(_, row)| *row), now);
                // Only the one-row statement is cached: each batch size is its own statement, and
                // caching them all would push the hot one-row statements out of the connection's
                // cache.
                insert
                    .build()
                    .persistent(one_row)
                    .execute(&mut *$conn)
                    .await?;
                for (i, (run, claim)) in queued {
                    done[i] = Some(RunWritten::Inserted(Box::new(run.queued(now, claim))));
                }
            }

            let audits: Vec<&super::NewAuditEntry> = writes
                .iter()
                .filter_map(|w| match *w {
                    RunWrite::Insert {
                        audit: Some(entry), ..
                    } => Some(entry.as_ref()),
                    _ => None,
                })
                .collect();
            if !audits.is_empty() {
                let one_row = audits.len() == 1;
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO audit_log (occurred_at, actor, action, target, detail, ip) ",
                );
                insert.push_values(audits, |mut row, entry| {
                    row.push_bind(now)
                        .push_bind(&entry.actor)
                        .push_bind(&entry.action)
                        .push_bind(&entry.target)
                        .push_bind(super::audit::detail_text(entry))
                        .push_bind(&entry.ip);
                });
                insert
                    .build()
                    .persistent(one_row)
                    .execute(&mut *$conn)
                    .await?;
            }

            // Steps, written only where their owner holds the run; RETURNING says where.
            let steps: Vec<(&str, &str, &RunStepRecord)> = writes
                .iter()
                .filter_map(|w| match *w {
                    RunWrite::Step {
                        run_id,
                        owner,
                        step,
                    }
                    | RunWrite::Finish {
                        run_id,
                        owner,
                        step: Some(step),
                        ..
                    } => Some((run_id.as_str(), owner.as_str(), step)),
                    _ => None,
                })
                .collect();
            let mut recorded = std::collections::HashSet::new();
            if !steps.is_empty() {
                // One row is the usual case (a run's step between two nodes): prepared once and
                // kept, as above.
                let one_row = steps.len() == 1;
                let mut upsert = sqlx::QueryBuilder::new(
                    "INSERT INTO run_steps (run_id, position, key, name, status, attempts, \
                     error, request, response, started_at, finished_at) \
                     SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, \
                     v.column7, v.column8, v.column9, v.column10, v.column11 FROM (",
                );
                upsert.push_values(steps, |mut row, (run_id, owner, step)| {
                    row.push_bind(run_id)
                        .push_bind(step.position)
                        .push_bind(&step.key)
                        .push_bind(&step.name)
                        .push_bind(&step.status)
                        .push_bind(step.attempts)
                        .push_bind(&step.error)
                        .push_bind(&step.request)
                        .push_bind(&step.response)
                        .push_bind(step.started_at)
                        .push_bind(step.finished_at)
                        .push_bind(owner);
                });
                upsert.push(
                    ") AS v WHERE EXISTS (SELECT 1 FROM runs WHERE runs.id = v.column1 \
                     AND runs.lease_owner = v.column12 AND runs.status = 'running') \
                     ON CONFLICT (run_id, position) DO UPDATE SET status = excluded.status, \
                     attempts = excluded.attempts, error = excluded.error, \
                     request = excluded.request, response = excluded.response, \
                     finished_at = excluded.finished_at \
                     RETURNING run_id, position",
                );
                recorded = upsert
                    .build_query_as::<(String, i64)>()
                    .persistent(one_row)
                    .fetch_all(&mut *$conn)
                    .await?
                    .into_iter()
                    .collect();
            }
            let was_recorded = |run_id: &str, step: &RunStepRecord| {
                recorded.contains(&(run_id.to_owned(), step.position))
            };

            // Ends, where the owner holds the run and its last step was recorded.
            let ending: Vec<(&str, &str, &str, Option<&str>)> = writes
                .iter()
                .filter_map(|w| match *w {
                    RunWrite::Finish {
                        run_id,
                        owner,
                        status,
                        error,
                        step,
                    } if step.as_ref().is_none_or(|s| was_recorded(run_id, s)) => {
                        Some((run_id.as_str(), owner.as_str(), *status, error.as_deref()))
                    }
                    _ => None,
                })
                .collect();
            let mut ended = std::collections::HashSet::new();
            if !ending.is_empty() {
                let one_row = ending.len() == 1;
                let mut update = sqlx::QueryBuilder::new("UPDATE runs SET finished_at = ");
                update.push_bind(now).push(
                    ", status = v.column3, error = v.column4, lease_owner = NULL, \
                     lease_until = NULL FROM (",
                );
                update.push_values(ending, |mut row, (run_id, owner, status, error)| {
                    row.push_bind(run_id)
                        .push_bind(owner)
                        .push_bind(status)
                        .push_bind(error);
                });
                update.push(
                    ") AS v WHERE runs.id = v.column1 AND runs.lease_owner = v.column2 \
                     AND runs.status = 'running' RETURNING runs.id",
                );
                ended = update
                    .build_query_scalar::<String>()
                    .persistent(one_row)
                    .fetch_all(&mut *$conn)
                    .await?
                    .into_iter()
                    .collect();
            }

            // Claims last: a run whose lease ran out while its owner finished it is ended by the
            // finish in this batch, not taken over (and its last step sent again) by a claim
            // that happens to share the batch.
            for (i, write) in writes.iter().enumerate() {
                if let &RunWrite::Claim {
                    process,
                    lease_ms,
                    limit,
                } = write
                {
                    let mut claimed = sqlx::query_as::<_, RunRecord>(claim_sql($backend))
                        .bind(process)
                        .bind(now + lease_ms)
                        .bind(now)
                        .bind(limit)
                        .fetch_all(&mut *$conn)
                        .await?;
                    claimed.sort_by(|a, b| (a.queued_at, &a.id).cmp(&(b.queued_at, &b.id)));
                    done[i] = Some(RunWritten::Claimed(claimed));
                }
            }

            for (i, write) in writes.iter().enumerate() {
                match *write {
                    RunWrite::Step { run_id, step, .. } => {
                        done[i] = Some(RunWritten::Held(was_recorded(run_id, step)));
                    }
                    RunWrite::Finish { run_id, .. } => {
                        done[i] = Some(RunWritten::Held(ended.contains(run_id)));
                    }
                    RunWrite::Insert { .. } | RunWrite::Claim { .. } => {}
                }
            }
            Ok::<Vec<RunWritten>, sqlx::Error>(done.into_iter().flatten().collect())
        }
    };
}

/// Claims up to `$4` runs for process `$1` until `$2`, at `$3`: two index lookups on
/// (status, queued_at), expired leases first. (One `status = … OR …` query would sort the whole
/// queue on every claim, and claims take the write lock.) The owner names the claim, so it is
/// new each time a run is claimed.
fn claim_sql(backend: Backend) -> &'static str {
    match backend {
        // One writer at a time: the statement is atomic.
        Backend::Sqlite => {
            "UPDATE runs SET status = 'running', lease_owner = $1 || ':' || (claims + 1), \
             lease_until = $2, claims = claims + 1, started_at = COALESCE(started_at, $3) \
             WHERE id IN (SELECT id FROM (\
               SELECT * FROM (SELECT id FROM runs WHERE status = 'running' AND lease_until < $3 \
                 ORDER BY queued_at LIMIT $4) \
               UNION ALL \
               SELECT * FROM (SELECT id FROM runs WHERE status = 'queued' \
                 ORDER BY queued_at LIMIT $4)) LIMIT $4) \
             RETURNING id, workflow_id, workflow_name, workflow_version, definition, \
             trigger_type, started_by, input, status, error, queued_at, started_at, \
             finished_at, lease_owner, claims"
        }
        // Replicas skip each other's locked rows instead of waiting on them.
        Backend::Postgres => {
            "WITH expired AS (SELECT id FROM runs WHERE status = 'running' AND lease_until < $3 \
                 ORDER BY queued_at LIMIT $4 FOR UPDATE SKIP LOCKED), \
             waiting AS (SELECT id FROM runs WHERE status = 'queued' ORDER BY queued_at \
                 LIMIT $4 - (SELECT COUNT(*) FROM expired) FOR UPDATE SKIP LOCKED), \
             picked AS (SELECT id AS picked_id FROM expired UNION ALL SELECT id FROM waiting) \
             UPDATE runs SET status = 'running', lease_owner = $1 || ':' || (claims + 1), \
             lease_until = $2, claims = claims + 1, started_at = COALESCE(started_at, $3) \
             FROM picked WHERE id = picked_id \
             RETURNING id, workflow_id, workflow_name, workflow_version, definition, \
             trigger_type, started_by, input, status, error, queued_at, started_at, \
             finished_at, lease_owner, claims"
        }
    }
}

const COLUMNS: &str = "id, workflow_id, workflow_name, workflow_version, definition, trigger_type, \
     started_by, input, status, error, queued_at, started_at, finished_at, lease_owner, claims";

const STEP_COLUMNS: &str =
    "position, key, name, status, attempts, error, request, response, started_at, finished_at";

impl Store {
    /// Applies `writes` in one transaction, in order. One that fails fails them all (the run
    /// writer then applies them one by one).
    pub async fn write_runs<W: Borrow<RunWrite>>(
        &self,
        writes: &[W],
    ) -> Result<Vec<RunWritten>, StoreError> {
        let backend = self.backend();
        let now = now_ms();
        let mut done = Vec::with_capacity(writes.len());
        // One write of one statement is atomic by itself: no transaction (two fewer round trips,
        // which is most of a lone write's time).
        let one_statement = match writes {
            [write] => !matches!(
                write.borrow(),
                RunWrite::Finish { step: Some(_), .. } | RunWrite::Insert { audit: Some(_), .. }
            ),
            _ => false,
        };
        on_run_write_pool!(self, |pool| {
            if one_statement {
                let mut conn = pool.acquire().await?;
                done = apply_run_batch!(conn, backend, writes, now).await?;
            } else {
                let mut tx = pool.begin().await?;
                for part in without_repeated_runs(writes) {
                    done.extend(apply_run_batch!(tx, backend, part, now).await?);
                }
                tx.commit().await?;
            }
        });
        Ok(done)
    }

    /// Applies one write in its own transaction.
    pub async fn write_run(&self, write: &RunWrite) -> Result<RunWritten, StoreError> {
        let mut done = self.write_runs(std::slice::from_ref(write)).await?;
        done.pop()
            .ok_or_else(|| StoreError::Corrupt("a run write returned nothing".into()))
    }

    /// Writes a queued run; once this returns, the run will be executed. Returns the run as
    /// written (a worker may already have claimed it).
    pub async fn insert_run(&self, run: &NewRun) -> Result<RunRecord, StoreError> {
        match self
            .write_run(&RunWrite::Insert {
                run: run.clone(),
                claim: None,
                audit: None,
            })
            .await?
        {
            RunWritten::Inserted(run) => Ok(*run),
            other => Err(other.unexpected()),
        }
    }

    /// Claims up to `limit` runs for `process` until `lease_ms` from now (see [`RunWrite::Claim`]).
    pub async fn claim_runs(
        &self,
        process: &str,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<RunRecord>, StoreError> {
        match self
            .write_run(&RunWrite::Claim {
                process: process.to_owned(),
                lease_ms,
                limit,
            })
            .await?
        {
            RunWritten::Claimed(runs) => Ok(runs),
            other => Err(other.unexpected()),
        }
    }

    /// Records a step (started, or finished) while `owner` holds the run; false (nothing
    /// written) when it no longer does.
    pub async fn save_run_step(
        &self,
        run_id: &str,
        owner: &str,
        step: &RunStepRecord,
    ) -> Result<bool, StoreError> {
        held(
            self.write_run(&RunWrite::Step {
                run_id: run_id.to_owned(),
                owner: owner.to_owned(),
                step: step.clone(),
            })
            .await?,
        )
    }

    /// Ends a run; false when `owner` no longer held it (another worker took over).
    pub async fn finish_run(
        &self,
        id: &str,
        owner: &str,
        status: &'static str,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        held(
            self.write_run(&RunWrite::Finish {
                run_id: id.to_owned(),
                owner: owner.to_owned(),
                status,
                error: error.map(str::to_owned),
                step: None,
            })
            .await?,
        )
    }

    pub async fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM runs WHERE id = $1");
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, RunRecord>(&sql)
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    pub async fn run_steps(&self, run_id: &str) -> Result<Vec<RunStepRecord>, StoreError> {
        let sql =
            format!("SELECT {STEP_COLUMNS} FROM run_steps WHERE run_id = $1 ORDER BY position");
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, RunStepRecord>(&sql)
                .bind(run_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Newest first.
    pub async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM runs \
             WHERE ($1 IS NULL OR workflow_id = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR queued_at >= $3) \
             AND ($4 IS NULL OR queued_at < $4 OR (queued_at = $4 AND id < $6)) \
             ORDER BY queued_at DESC, id DESC LIMIT $5"
        );
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, RunRecord>(&sql)
                .bind(&filter.workflow_id)
                .bind(&filter.status)
                .bind(filter.since)
                .bind(filter.before)
                .bind(filter.limit)
                .bind(&filter.before_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Extends a lease; false when `owner` no longer holds it.
    pub async fn renew_lease(
        &self,
        id: &str,
        owner: &str,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE runs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 \
                 AND status = 'running'",
            )
            .bind(now_ms() + lease_ms)
            .bind(id)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Puts a run back in the queue (graceful shutdown): another worker resumes it at once.
    pub async fn release_run(&self, id: &str, owner: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
            )
            .bind(id)
            .bind(owner)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Runs waiting for a worker.
    pub async fn queued_runs(&self) -> Result<i64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM runs WHERE status = 'queued'")
                .fetch_one(pool)
                .await?
        }))
    }

    /// Deletes runs that finished before `before` (epoch ms); returns how many.
    pub async fn purge_runs(&self, before: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query("DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Marks a connector as used now (the *Last used* column).
    pub async fn touch_connector(&self, id: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE connectors SET last_used_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

/// Splits `writes` into consecutive parts in which no run has two step or finish writes, so
/// each part can be applied as one batch with the same result as applying its writes in order.
fn without_repeated_runs<W: Borrow<RunWrite>>(writes: &[W]) -> Vec<&[W]> {
    let mut parts = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut start = 0;
    for (i, write) in writes.iter().enumerate() {
        let run_id = match write.borrow() {
            RunWrite::Step { run_id, .. } | RunWrite::Finish { run_id, .. } => run_id.as_str(),
            RunWrite::Insert { .. } | RunWrite::Claim { .. } => continue,
        };
        if !seen.insert(run_id) {
            parts.push(&writes[start..i]);
            start = i;
            seen.clear();
            seen.insert(run_id);
        }
    }
    parts.push(&writes[start..]);
    parts
}

fn held(written: RunWritten) -> Result<bool, StoreError> {
    match written {
        RunWritten::Held(held) => Ok(held),
        other => Err(other.unexpected()),
    }
}
