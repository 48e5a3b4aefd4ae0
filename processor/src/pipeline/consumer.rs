//! The consumer loop: a batch of `events.v1` (and `graph-errors.v1`) records is
//! applied in one database transaction, its outputs are relayed to Kafka, and only
//! then are its offsets stored and committed. A crash at any point loses nothing and
//! applies nothing twice.
//!
//! A failing batch (database or broker down) is retried with exponential backoff and
//! jitter. Meanwhile the assigned partitions are paused, the consumer keeps polling
//! (so it stays in its group and serves rebalances) and readiness is false.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};

use super::backoff::{stopping, Backoff};
use super::batch::{apply_batch, BatchProgress};
use super::context::{OffsetWatch, ProcessorContext};
use super::relay::{Relay, RelayError};
use crate::health::Health;
use crate::services::Services;
use crate::store::StoreError;

/// Why a batch attempt failed (all transient: the batch is retried).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The outputs were not relayed.
    #[error(transparent)]
    Relay(#[from] RelayError),
}

impl BatchError {
    /// The failing component, for readiness and the retries metric.
    pub fn cause(&self) -> &'static str {
        match self {
            BatchError::Store(_) => "database",
            BatchError::Relay(error) => error.cause(),
        }
    }
}

/// The consumer of the processor's group.
pub type ProcessorConsumer = StreamConsumer<ProcessorContext>;

/// Consumes `events.v1` (and `graph-errors.v1`) and applies it.
pub struct EventLoop {
    /// The shared handles: the configured apps (publish requests for others are
    /// dead-lettered) and the clock a batch is applied at among them.
    pub(crate) services: Services,
    pub(crate) consumer: ProcessorConsumer,
    pub(crate) relay: Relay,
    pub(crate) batch_size: usize,
    pub(crate) batch_wait: Duration,
    pub(crate) retry_initial: Duration,
    pub(crate) health: Health,
    pub(crate) offsets: OffsetWatch,
    /// Tests only: stop here once, as a crash would.
    #[cfg(feature = "testing")]
    pub(crate) crash_point: Option<crate::testing::CrashPoint>,
}

impl EventLoop {
    /// Runs until `shutdown` turns true, finishing the batch in hand.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut carry = Vec::new();
        self.health.set_ready();
        while !stopping(&shutdown) {
            let batch = self
                .next_batch(&mut shutdown, std::mem::take(&mut carry))
                .await;
            if batch.is_empty() {
                continue;
            }
            let started = Instant::now();
            let Some(progress) = self
                .apply_with_retry(&batch, &mut carry, &mut shutdown)
                .await
            else {
                return;
            };
            #[cfg(feature = "testing")]
            if self.crash_point == Some(crate::testing::CrashPoint::AfterRelay) {
                tracing::error!("crash point reached: stopping before the offset commit");
                return;
            }
            self.store_offsets(&batch);
            tracing::debug!(
                records = batch.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "batch applied"
            );
            progress
                .report
                .record(&self.services.metrics, self.services.clock.now_ms());
            self.services
                .metrics
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
                Ok(message) => batch.extend(self.watched(message.detach())),
                Err(error) => {
                    tracing::warn!(%error, "consumer error");
                    return batch;
                }
            }
        }
        let deadline = Instant::now() + self.batch_wait;
        while batch.len() < self.batch_size {
            match timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.extend(self.watched(message.detach())),
                Ok(Err(error)) => tracing::warn!(%error, "consumer error"),
                Err(_) => break,
            }
        }
        batch
    }

    /// Applies `batch` and awaits its outputs' acknowledgement, retrying until it
    /// succeeds, or `None` when shutdown (or a crash point) stops it. Records that
    /// arrive while retrying are kept in `carry`.
    #[tracing::instrument(name = "batch", skip_all, fields(records = batch.len()))]
    async fn apply_with_retry(
        &self,
        batch: &[OwnedMessage],
        carry: &mut Vec<OwnedMessage>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<BatchProgress> {
        let mut backoff = Backoff::new(self.retry_initial);
        let mut progress = BatchProgress {
            claim: Some(self.relay.direct_claim()),
            known_apps: Some(self.services.apps.clone()),
            ..BatchProgress::default()
        };
        let mut paused: Option<TopicPartitionList> = None;
        loop {
            match self.attempt(batch, &mut progress).await {
                Ok(()) => {
                    if let Some(partitions) = paused {
                        if let Err(error) = self.consumer.resume(&partitions) {
                            tracing::debug!(%error, "cannot resume partitions (reassigned?)");
                        }
                    }
                    self.health.set_ready();
                    return Some(progress);
                }
                Err(Attempt::Crash) => return None,
                Err(Attempt::Failed(error)) => {
                    let cause = error.cause();
                    let source = std::error::Error::source(&error).map(ToString::to_string);
                    tracing::warn!(%error, ?source, retry_in_ms = backoff.delay().as_millis() as u64, "batch failed; retrying");
                    self.services
                        .metrics
                        .retries
                        .with_label_values(&[cause])
                        .inc();
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
                        Ok(message) => carry.extend(self.watched(message.detach())),
                        Err(error) => tracing::debug!(%error, "consumer error while paused"),
                    },
                }
            }
        }
    }

    /// Applies what of `batch` is not committed yet, then waits for its outputs.
    async fn attempt(
        &self,
        batch: &[OwnedMessage],
        progress: &mut BatchProgress,
    ) -> Result<(), Attempt> {
        if progress.next < batch.len() {
            let started = Instant::now();
            apply_batch(
                &self.services.store,
                &self.services.topics,
                batch,
                progress,
                self.services.clock.now_ms(),
            )
            .await
            .map_err(|e| Attempt::Failed(e.into()))?;
            tracing::trace!(
                records = batch.len(),
                elapsed_us = started.elapsed().as_micros() as u64,
                "batch committed"
            );
            if progress.claimed.len() < progress.outbox_ids.len() {
                self.relay.wake();
            }
            #[cfg(feature = "testing")]
            if self.crash_point == Some(crate::testing::CrashPoint::AfterDatabaseCommit) {
                tracing::error!("crash point reached: stopping before the relay");
                return Err(Attempt::Crash);
            }
        }
        let started = Instant::now();
        self.relay
            .flush(&progress.outbox_ids, &progress.claimed)
            .await
            .map_err(|e| Attempt::Failed(e.into()))?;
        tracing::trace!(
            elapsed_us = started.elapsed().as_micros() as u64,
            "outputs relayed"
        );
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
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    Crash,
}
