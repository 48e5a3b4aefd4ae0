//! The consumer loop: a batch of `events.v1` (and `graph-errors.v1`) records is
//! applied in one database transaction, its outputs are relayed to Kafka, and only
//! then are its offsets stored and committed. A crash at any point loses nothing and
//! applies nothing twice.
//!
//! A failing batch (database or broker down) is retried with exponential backoff and
//! jitter. Meanwhile the assigned partitions are paused, the consumer keeps polling
//! (so it stays in its group and serves rebalances) and readiness is false.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use graphhook_kafka::Topics;
use graphhook_schema::time::now_millis;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};

use crate::backoff::{stopping, Backoff};
use crate::batch::{apply_to_store, BatchReport};
use crate::context::ProcessorContext;
use crate::health::Health;
use crate::metrics::ProcessorMetrics;
use crate::relay::{Relay, RelayError};
use crate::store::{Store, StoreError};

/// Why a batch could not be applied (all transient: the batch is retried).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Kafka did not take the outputs.
    #[error(transparent)]
    Relay(#[from] RelayError),
}

impl BatchError {
    /// The failing component, for readiness and the retries metric.
    pub fn cause(&self) -> &'static str {
        match self {
            BatchError::Store(_) | BatchError::Relay(RelayError::Store(_)) => "database",
            BatchError::Relay(RelayError::Kafka(_)) => "kafka",
        }
    }
}

/// Where a test makes the loop stop as if the process had been killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// After the database commit, before the outputs are relayed.
    AfterDatabaseCommit,
    /// After the outputs are acknowledged, before the offsets are committed.
    AfterRelay,
}

/// The consumer of the processor's group.
pub type ProcessorConsumer = StreamConsumer<ProcessorContext>;

/// Consumes `events.v1` and applies it.
pub struct EventLoop {
    /// The store.
    pub store: Store,
    /// The subscribed consumer.
    pub consumer: ProcessorConsumer,
    /// Sends the outbox to Kafka.
    pub relay: Arc<Relay>,
    /// Topic names.
    pub topics: Topics,
    /// Most records per batch.
    pub batch_size: usize,
    /// How long a batch waits to fill.
    pub batch_wait: Duration,
    /// First retry delay.
    pub retry_initial: Duration,
    /// Readiness, turned false while retrying.
    pub health: Health,
    /// Where progress is reported.
    pub metrics: ProcessorMetrics,
    /// Tests only: stop here once, as a crash would.
    pub crash_point: Option<CrashPoint>,
}

impl EventLoop {
    /// Runs until `shutdown` turns true, finishing the batch in hand.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut carry = Vec::new();
        let empty: Vec<OwnedMessage> = Vec::new();
        if self
            .apply_with_retry(&empty, &mut carry, &mut shutdown)
            .await
            .is_none()
        {
            return;
        }
        while !stopping(&shutdown) {
            let batch = self
                .next_batch(&mut shutdown, std::mem::take(&mut carry))
                .await;
            if batch.is_empty() {
                continue;
            }
            let started = Instant::now();
            let Some(report) = self
                .apply_with_retry(&batch, &mut carry, &mut shutdown)
                .await
            else {
                return;
            };
            if self.crash_point == Some(CrashPoint::AfterRelay) {
                tracing::error!("crash point reached: stopping before the offset commit");
                return;
            }
            self.store_offsets(&batch);
            tracing::debug!(
                records = batch.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "batch applied"
            );
            report.record(&self.metrics, now_millis());
            self.metrics
                .batch_duration
                .observe(started.elapsed().as_secs_f64());
        }
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(%error, "no final offset commit");
        }
        tracing::info!("processor stopped");
    }

    async fn next_batch(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        mut batch: Vec<OwnedMessage>,
    ) -> Vec<OwnedMessage> {
        if batch.is_empty() {
            let first = tokio::select! {
                message = self.consumer.recv() => message,
                _ = shutdown.changed() => return batch,
            };
            match first {
                Ok(message) => batch.push(message.detach()),
                Err(error) => {
                    tracing::warn!(%error, "consumer error");
                    return batch;
                }
            }
        }
        let deadline = Instant::now() + self.batch_wait;
        while batch.len() < self.batch_size {
            match timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.push(message.detach()),
                Ok(Err(error)) => tracing::warn!(%error, "consumer error"),
                Err(_) => break,
            }
        }
        batch
    }

    /// Applies and relays `batch` (empty: relays what a crash left in the outbox),
    /// retrying until it succeeds, or `None` when shutdown (or a crash point) stops
    /// it. Records that arrive while retrying are kept in `carry`.
    async fn apply_with_retry(
        &self,
        batch: &[OwnedMessage],
        carry: &mut Vec<OwnedMessage>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<BatchReport> {
        let mut backoff = Backoff::new(self.retry_initial);
        let mut committed: Option<BatchReport> = None;
        let mut paused: Option<TopicPartitionList> = None;
        loop {
            match self.attempt(batch, &mut committed).await {
                Ok(()) => {
                    if let Some(partitions) = paused {
                        if let Err(error) = self.consumer.resume(&partitions) {
                            tracing::debug!(%error, "cannot resume partitions (reassigned?)");
                        }
                    }
                    self.health.set_ready();
                    return Some(committed.unwrap_or_default());
                }
                Err(Attempt::Crash) => return None,
                Err(Attempt::Failed(error)) => {
                    let cause = error.cause();
                    tracing::warn!(%error, cause = ?std::error::Error::source(&error), retry_in_ms = backoff.delay().as_millis() as u64, "batch failed; retrying");
                    self.metrics.retries.with_label_values(&[cause]).inc();
                    self.health
                        .set_not_ready(&format!("{cause} unavailable; retrying"));
                    if paused.is_none() {
                        paused = self.pause();
                    }
                }
            }
            let wait = tokio::time::sleep(backoff.next_wait());
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    _ = &mut wait => break,
                    _ = shutdown.changed() => return None,
                    message = self.consumer.recv() => match message {
                        Ok(message) => carry.push(message.detach()),
                        Err(error) => tracing::debug!(%error, "consumer error while paused"),
                    },
                }
            }
        }
    }

    async fn attempt(
        &self,
        batch: &[OwnedMessage],
        committed: &mut Option<BatchReport>,
    ) -> Result<(), Attempt> {
        if committed.is_none() && !batch.is_empty() {
            let started = Instant::now();
            let report = apply_to_store(&self.store, &self.topics, batch, now_millis())
                .await
                .map_err(|e| Attempt::Failed(e.into()))?;
            tracing::trace!(
                records = batch.len(),
                elapsed_us = started.elapsed().as_micros() as u64,
                "batch committed"
            );
            *committed = Some(report);
            if self.crash_point == Some(CrashPoint::AfterDatabaseCommit) {
                tracing::error!("crash point reached: stopping before the relay");
                return Err(Attempt::Crash);
            }
        }
        let started = Instant::now();
        let sent = self
            .relay
            .run(&self.store)
            .await
            .map_err(|e| Attempt::Failed(e.into()))?;
        tracing::trace!(
            elapsed_us = started.elapsed().as_micros() as u64,
            "outputs relayed"
        );
        for (topic, n) in sent {
            self.metrics
                .outputs
                .with_label_values(&[topic.as_str()])
                .inc_by(n);
        }
        Ok(())
    }

    fn pause(&self) -> Option<TopicPartitionList> {
        let assignment = self.consumer.assignment().ok()?;
        match self.consumer.pause(&assignment) {
            Ok(()) => Some(assignment),
            Err(error) => {
                tracing::debug!(%error, "cannot pause partitions");
                None
            }
        }
    }

    /// Stores the batch's next offsets and commits them asynchronously. A lost
    /// commit only means the batch is redelivered, and its claimed event ids make
    /// that a no-op; revocation and shutdown commit what is stored synchronously.
    fn store_offsets(&self, batch: &[OwnedMessage]) {
        let mut next: HashMap<(&str, i32), i64> = HashMap::new();
        for message in batch {
            let entry = next
                .entry((message.topic(), message.partition()))
                .or_insert(0);
            *entry = (*entry).max(message.offset() + 1);
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            if let Err(error) =
                offsets.add_partition_offset(topic, partition, Offset::Offset(offset))
            {
                tracing::warn!(%error, "cannot record an offset");
            }
        }
        if let Err(error) = self.consumer.store_offsets(&offsets) {
            tracing::info!(%error, "cannot store offsets (partitions reassigned?); the batch will be redelivered and skipped");
            return;
        }
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Async) {
            tracing::warn!(%error, "offset commit failed; the batch will be redelivered and skipped");
        }
    }
}

enum Attempt {
    Failed(BatchError),
    Crash,
}
