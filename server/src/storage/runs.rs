//! Runs and their steps: queued durably, claimed with a lease, resumed after a crash, purged
//! after the retention period.

use super::{Db, Store, StoreError, now_ms, on_pool};

/// A run row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    pub claims: i64,
}

/// A step row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    pub limit: i64,
}

impl NewRun {
    /// The row `insert_run` writes at `now`.
    pub(super) fn queued(&self, now: i64) -> RunRecord {
        RunRecord {
            id: self.id.clone(),
            workflow_id: self.workflow_id.clone(),
            workflow_name: self.workflow_name.clone(),
            workflow_version: self.workflow_version,
            definition: self.definition.clone(),
            trigger_type: self.trigger_type.clone(),
            started_by: self.started_by.clone(),
            input: self.input.clone(),
            status: "queued".into(),
            error: None,
            queued_at: now,
            started_at: None,
            finished_at: None,
            claims: 0,
        }
    }
}

/// The statement that queues `$run` at `$now`, ready to execute on a pool or in a transaction
/// of either backend.
macro_rules! run_insert {
    ($run:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO runs (id, workflow_id, workflow_name, workflow_version, definition, \
             trigger_type, started_by, input, status, queued_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9)",
        )
        .bind(&$run.id)
        .bind(&$run.workflow_id)
        .bind(&$run.workflow_name)
        .bind($run.workflow_version)
        .bind(&$run.definition)
        .bind(&$run.trigger_type)
        .bind(&$run.started_by)
        .bind(&$run.input)
        .bind($now)
    };
}
pub(super) use run_insert;

const COLUMNS: &str = "id, workflow_id, workflow_name, workflow_version, definition, trigger_type, \
     started_by, input, status, error, queued_at, started_at, finished_at, claims";

const STEP_COLUMNS: &str =
    "position, key, name, status, attempts, error, request, response, started_at, finished_at";

impl Store {
    /// Writes a queued run; once this returns, the run will be executed. Returns the run as
    /// written (a worker may already have claimed it).
    pub async fn insert_run(&self, run: &NewRun) -> Result<RunRecord, StoreError> {
        let now = now_ms();
        on_pool!(self, |pool| {
            run_insert!(run, now).execute(pool).await?;
        });
        Ok(run.queued(now))
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
             AND ($3 IS NULL OR queued_at >= $3) AND ($4 IS NULL OR queued_at < $4) \
             ORDER BY queued_at DESC, id DESC LIMIT $5"
        );
        Ok(on_pool!(self, |pool| {
            sqlx::query_as::<_, RunRecord>(&sql)
                .bind(&filter.workflow_id)
                .bind(&filter.status)
                .bind(filter.since)
                .bind(filter.before)
                .bind(filter.limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Claims the oldest queued run, or a running one whose lease ran out (its worker stopped),
    /// for `owner` until `lease_ms` from now.
    pub async fn claim_run(
        &self,
        owner: &str,
        lease_ms: i64,
    ) -> Result<Option<RunRecord>, StoreError> {
        let now = now_ms();
        let set = "SET status = 'running', lease_owner = $1, lease_until = $2, \
                   claims = claims + 1, started_at = COALESCE(started_at, $3)";
        // Two index lookups on (status, queued_at): a run whose lease ran out (its worker
        // stopped) first, else the oldest queued one. One `status = … OR …` query would sort
        // the whole queue on every claim, and claims take the write lock.
        let claimed = match &self.db {
            // One writer at a time: the statement is atomic.
            Db::Sqlite(pool) => {
                let sql = format!(
                    "UPDATE runs {set} WHERE id = COALESCE(\
                     (SELECT id FROM runs WHERE status = 'running' AND lease_until < $3 \
                      ORDER BY queued_at LIMIT 1), \
                     (SELECT id FROM runs WHERE status = 'queued' ORDER BY queued_at LIMIT 1)) \
                     RETURNING {COLUMNS}"
                );
                sqlx::query_as::<_, RunRecord>(&sql)
                    .bind(owner)
                    .bind(now + lease_ms)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }
            // Replicas skip each other's locked rows instead of waiting on them.
            Db::Postgres(pool) => {
                let sql = format!(
                    "UPDATE runs {set} WHERE id = COALESCE(\
                     (SELECT id FROM runs WHERE status = 'running' AND lease_until < $3 \
                      ORDER BY queued_at LIMIT 1 FOR UPDATE SKIP LOCKED), \
                     (SELECT id FROM runs WHERE status = 'queued' \
                      ORDER BY queued_at LIMIT 1 FOR UPDATE SKIP LOCKED)) \
                     RETURNING {COLUMNS}"
                );
                sqlx::query_as::<_, RunRecord>(&sql)
                    .bind(owner)
                    .bind(now + lease_ms)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(claimed)
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

    /// Records a step (started, or finished) while `owner` holds the run; false (nothing
    /// written) when it no longer does.
    pub async fn save_run_step(
        &self,
        run_id: &str,
        owner: &str,
        step: &RunStepRecord,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO run_steps (run_id, position, key, name, status, attempts, error, \
                 request, response, started_at, finished_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
                 WHERE EXISTS (SELECT 1 FROM runs WHERE id = $1 AND lease_owner = $12 \
                 AND status = 'running') \
                 ON CONFLICT (run_id, position) DO UPDATE SET status = excluded.status, \
                 attempts = excluded.attempts, error = excluded.error, request = excluded.request, \
                 response = excluded.response, finished_at = excluded.finished_at",
            )
            .bind(run_id)
            .bind(step.position)
            .bind(&step.key)
            .bind(&step.name)
            .bind(&step.status)
            .bind(step.attempts)
            .bind(&step.error)
            .bind(&step.request)
            .bind(&step.response)
            .bind(step.started_at)
            .bind(step.finished_at)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Ends a run; false when `owner` no longer held it (another worker took over).
    pub async fn finish_run(
        &self,
        id: &str,
        owner: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE runs SET status = $1, error = $2, finished_at = $3, lease_owner = NULL, \
                 lease_until = NULL WHERE id = $4 AND lease_owner = $5 AND status = 'running'",
            )
            .bind(status)
            .bind(error)
            .bind(now_ms())
            .bind(id)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
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
