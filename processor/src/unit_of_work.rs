//! One unit of work: a store transaction, the output records it queues, what it
//! did (for metrics) and the clock it runs at, carried together instead of as five
//! arguments. The consumer applies a batch in one; the admin API and the jobs
//! apply their changes in one too, so every change writes its records the same way.

use graphhook_kafka::Topics;

use crate::metrics::ProcessorMetrics;
use crate::outputs::Outputs;
use crate::report::WorkReport;
use crate::store::{OutboxClaim, OutboxRow, Store, StoreError, StoreTx};

/// A transaction with its outputs and report.
pub struct UnitOfWork<'t> {
    /// The transaction; dropped without [`UnitOfWork::commit`], nothing is kept.
    pub tx: StoreTx,
    /// Output records to queue in the outbox at commit.
    pub outputs: Outputs<'t>,
    /// What was done.
    pub report: WorkReport,
    /// The time the work is done at, epoch milliseconds.
    pub now_ms: i64,
    /// The store it works on, told when outbox rows are committed.
    store: Store,
}

/// A committed unit of work.
#[derive(Debug)]
pub struct Committed {
    /// What it did.
    pub report: WorkReport,
    /// The outbox rows it wrote (the relay sends them).
    pub outbox_ids: Vec<i64>,
    /// Those of them written claimed for the committer, to send itself (see
    /// [`UnitOfWork::commit_claimed`]).
    pub claimed: Vec<OutboxRow>,
}

impl<'t> UnitOfWork<'t> {
    /// Begins a transaction on `store`.
    pub async fn begin(store: &Store, topics: &'t Topics, now_ms: i64) -> Result<Self, StoreError> {
        Ok(UnitOfWork {
            tx: store.begin().await?,
            outputs: Outputs::new(topics),
            report: WorkReport::default(),
            now_ms,
            store: store.clone(),
        })
    }

    /// Queues the outputs and commits everything together.
    pub async fn commit(self) -> Result<Committed, StoreError> {
        self.commit_claimed(None).await
    }

    /// Commits, counts what was done in `metrics`, and tells the store when
    /// output records were written, which wakes its relay: how the admin API and
    /// the jobs end their work (the relay task sends the records; nobody waits for
    /// Kafka, and nobody holds the relay).
    pub async fn commit_and_wake(
        self,
        metrics: &ProcessorMetrics,
    ) -> Result<Committed, StoreError> {
        let now_ms = self.now_ms;
        let store = self.store.clone();
        let committed = self.commit().await?;
        committed.report.record(metrics, now_ms);
        if !committed.outbox_ids.is_empty() {
            store.outbox_written();
        }
        Ok(committed)
    }

    /// Like [`UnitOfWork::commit`], with the outputs written already claimed by
    /// `claim` where no earlier row of their topic and key is pending: the
    /// committer sends those itself, without a claim round trip.
    pub async fn commit_claimed(
        mut self,
        claim: Option<&OutboxClaim>,
    ) -> Result<Committed, StoreError> {
        let (outbox_ids, claimed) = self.outputs.flush(&mut self.tx, self.now_ms, claim).await?;
        self.tx.commit().await?;
        Ok(Committed {
            report: self.report,
            outbox_ids,
            claimed,
        })
    }
}

/// Why a unit of work failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// The store failed: transient, or it refused the content (see
    /// [`StoreError::disposition`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record's content was rejected.
    #[error(transparent)]
    Rejected(#[from] crate::domain::content::Rejection),
}

impl WorkError {
    /// Why the work's content can never be applied, when that is the problem;
    /// `None` for transient failures.
    pub fn refusal(&self) -> Option<String> {
        match self {
            WorkError::Rejected(rejection) => Some(rejection.0.clone()),
            WorkError::Store(error) => match error.disposition() {
                crate::store::Disposition::Refused(reason) => Some(reason),
                crate::store::Disposition::Transient => None,
            },
        }
    }
}
