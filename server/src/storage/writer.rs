//! The run writer: one task applies the hot path's run writes (queue a run, claim runs, record a
//! step, finish a run) from every request and worker, as many as are waiting, in one transaction.
//!
//! Why: each statement on its own pays a transaction and, on SQLite, a turn at the single write
//! lock, where writers that find it taken sleep and retry. One writer with shared transactions
//! pays those once per batch. Nothing waits for a batch to fill: a write that arrives while
//! the writer is idle is applied at once, alone; writes arriving meanwhile form the next batch.

use tokio::sync::{mpsc, oneshot};

use super::{RunWrite, RunWritten, Store, StoreError};

/// The most writes applied in one transaction.
const MAX_BATCH: usize = 256;

/// Runs in the writer task once a write is applied (with what it wrote) or failed (`None`),
/// whether or not its caller is still waiting: a request whose client went away is dropped
/// mid-await, and what must follow a write (handing a claimed run to a worker) must not be lost
/// with it. Dropped without being called if the write never reached the writer.
pub type AfterWrite = Box<dyn FnOnce(Option<&RunWritten>) + Send>;

struct Job {
    write: RunWrite,
    after: Option<AfterWrite>,
    done: oneshot::Sender<Result<RunWritten, StoreError>>,
}

impl Job {
    fn settle(self, written: Result<RunWritten, StoreError>) {
        if let Some(after) = self.after {
            after(written.as_ref().ok());
        }
        let _ = self.done.send(written);
    }
}

/// A handle on the writer task; clones share it. The task ends when every handle is dropped.
#[derive(Clone)]
pub struct RunWriter {
    jobs: mpsc::Sender<Job>,
}

impl RunWriter {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(store: Store) -> RunWriter {
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(apply_batches(store, queue));
        RunWriter { jobs }
    }

    /// Applies `write` in the next batch; resolves once that batch is committed.
    pub async fn write(&self, write: RunWrite) -> Result<RunWritten, StoreError> {
        self.write_then(write, None).await
    }

    /// Like [`RunWriter::write`], and calls `after` in the writer task once the write is
    /// applied or failed, even if this future is dropped before.
    pub async fn write_then(
        &self,
        write: RunWrite,
        after: Option<AfterWrite>,
    ) -> Result<RunWritten, StoreError> {
        let (done, written) = oneshot::channel();
        self.jobs
            .send(Job { write, after, done })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        written.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn apply_batches(store: Store, mut queue: mpsc::Receiver<Job>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let writes: Vec<&RunWrite> = jobs.iter().map(|job| &job.write).collect();
        let started = std::time::Instant::now();
        let result = store.write_runs(&writes).await;
        tracing::debug!(
            writes = writes.len(),
            took_us = started.elapsed().as_micros() as u64,
            "run writes applied"
        );
        drop(writes);
        match result {
            Ok(written) => {
                for (job, written) in jobs.drain(..).zip(written) {
                    job.settle(Ok(written));
                }
            }
            // One bad write (a run of a workflow deleted meanwhile, say) must not fail the
            // others: apply each alone, so each gets its own answer. Not for an error that is
            // not one row's (the database is unreachable, say): each retry would wait out the
            // same fault while every caller waits.
            Err(error) if jobs.len() > 1 && error.is_a_rows_fault() => {
                tracing::debug!(%error, writes = jobs.len(), "a batch of run writes failed; applying them one by one");
                for job in jobs.drain(..) {
                    let written = store.write_run(&job.write).await;
                    job.settle(written);
                }
            }
            Err(error) if jobs.len() == 1 => {
                if let Some(job) = jobs.pop() {
                    job.settle(Err(error));
                }
            }
            Err(error) => {
                tracing::warn!(%error, writes = jobs.len(), "a batch of run writes failed");
                let shown = error.to_string();
                for job in jobs.drain(..) {
                    job.settle(Err(StoreError::Batch(shown.clone())));
                }
            }
        }
    }
}
