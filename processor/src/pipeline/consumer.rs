//! The consumer loop: a batch of `events.v1` (and `graph-errors.v1`) records is
//! applied in one database transaction, its outputs are relayed to Kafka, and only
//! then are its offsets stored and committed. While one batch's outputs await
//! Kafka's acknowledgement, the next batch is read and applied
//! (`pipeline/in_flight.rs`). A crash at any point loses nothing and applies nothing
//! twice.
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

use super::backoff::stopping;
use super::batch::{apply_batch, BatchProgress};
use super::context::{OffsetWatch, ProcessorContext};
use super::in_flight::InFlight;
use super::relay::{Relay, RelayError};
use super::retry::{Retry, Stop};
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
    /// Runs until `shutdown` turns true, finishing the batches in hand.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut carry = Vec::new();
        let mut in_flight: Option<InFlight> = None;
        self.health.set_ready();
        while !stopping(&shutdown) {
            if carry.is_empty() {
                if let Some(flight) = in_flight.as_mut() {
                    // Nothing read yet: whichever comes first, a record or the
                    // acknowledgement of the batch in flight.
                    let settled = tokio::select! {
                        biased;
                        message = self.consumer.recv() => {
                            match message {
                                Ok(message) => carry.extend(self.watched(message.detach())),
                                Err(error) => tracing::warn!(%error, "consumer error"),
                            }
                            false
                        }
                        _ = flight.settled() => true,
                        _ = shutdown.changed() => continue,
                    };
                    if settled {
                        let flight = in_flight.take();
                        if let Some(flight) = flight {
                            if let Err(stop) =
                                self.acknowledge(flight, &mut carry, &mut shutdown).await
                            {
                                return self.stopped(stop, None).await;
                            }
                        }
                        continue;
                    }
                    if carry.is_empty() {
                        // A consumer error, or a record the gap watch set aside:
                        // keep watching the batch in flight.
                        continue;
                    }
                }
            }
            let batch = self
                .next_batch(&mut shutdown, std::mem::take(&mut carry))
                .await;
            if batch.is_empty() {
                continue;
            }
            let started = Instant::now();
            let progress = match self
                .apply_with_retry(&batch, &mut carry, &mut shutdown)
                .await
            {
                Ok(progress) => progress,
                Err(stop) => return self.stopped(stop, in_flight).await,
            };
            // The previous batch's outputs were sent while this one was read and
            // applied; its offsets are committed once they are acknowledged, and
            // only then are this batch's outputs sent (a key's records stay in order).
            if let Some(previous) = in_flight.take() {
                if let Err(stop) = self.acknowledge(previous, &mut carry, &mut shutdown).await {
                    return self.stopped(stop, None).await;
                }
            }
            in_flight = Some(InFlight::start(&self.relay, batch, progress, started));
        }
        self.stopped(Stop::Shutdown, in_flight).await;
    }

    /// Ends the loop: on shutdown, the batch in flight is finished if its outputs
    /// are acknowledged (without retrying) and the stored offsets are committed; at
    /// a crash point, nothing more is done.
    async fn stopped(&self, stop: Stop, in_flight: Option<InFlight>) {
        if let Stop::Crash = stop {
            return;
        }
        if let Some(mut flight) = in_flight {
            match flight.settled().await {
                Ok(()) => self.committed(flight),
                Err(error) => {
                    tracing::info!(%error, "the last batch's outputs are not acknowledged; it will be redelivered and skipped")
                }
            }
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

    /// Applies `batch` in the database, retrying until it succeeds. Records that
    /// arrive while retrying are kept in `carry`.
    #[tracing::instrument(name = "batch", skip_all, fields(records = batch.len()))]
    async fn apply_with_retry(
        &self,
        batch: &[OwnedMessage],
        carry: &mut Vec<OwnedMessage>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<BatchProgress, Stop> {
        let mut retry = Retry::new(self.retry_initial);
        let mut progress = BatchProgress {
            claim: Some(self.relay.direct_claim()),
            known_apps: Some(self.services.apps.clone()),
            ..BatchProgress::default()
        };
        loop {
            let started = Instant::now();
            let applied = apply_batch(
                &self.services.store,
                &self.services.topics,
                batch,
                &mut progress,
                self.services.clock.now_ms(),
            )
            .await;
            match applied {
                Ok(()) => {
                    tracing::trace!(
                        records = batch.len(),
                        elapsed_us = started.elapsed().as_micros() as u64,
                        "batch committed"
                    );
                    self.recovered(retry);
                    break;
                }
                Err(error) => retry.failed(self, &BatchError::Store(error)),
            }
            retry.wait(self, carry, shutdown).await?;
        }
        if progress.claimed.len() < progress.outbox_ids.len() {
            self.relay.wake();
        }
        #[cfg(feature = "testing")]
        if self.crash_point == Some(crate::testing::CrashPoint::AfterDatabaseCommit) {
            tracing::error!("crash point reached: stopping before the relay");
            return Err(Stop::Crash);
        }
        Ok(progress)
    }

    /// Waits for `flight`'s outputs to be acknowledged, sending them again until
    /// they are, then commits its offsets.
    async fn acknowledge(
        &self,
        mut flight: InFlight,
        carry: &mut Vec<OwnedMessage>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let mut retry = Retry::new(self.retry_initial);
        let mut sent = flight.settled().await;
        while let Err(error) = sent {
            retry.failed(self, &BatchError::Relay(error));
            retry.wait(self, carry, shutdown).await?;
            let outputs = &flight.outputs;
            sent = self.relay.flush(&outputs.ids, &outputs.claimed).await;
        }
        self.recovered(retry);
        #[cfg(feature = "testing")]
        if self.crash_point == Some(crate::testing::CrashPoint::AfterRelay) {
            tracing::error!("crash point reached: stopping before the offset commit");
            return Err(Stop::Crash);
        }
        self.committed(flight);
        Ok(())
    }

    /// A batch is applied and its outputs acknowledged: its offsets are stored
    /// and committed, its report recorded.
    fn committed(&self, flight: InFlight) {
        self.store_offsets(&flight.batch);
        tracing::debug!(
            records = flight.batch.len(),
            elapsed_ms = flight.started.elapsed().as_millis() as u64,
            "batch applied"
        );
        let metrics = &self.services.metrics;
        flight
            .progress
            .report
            .record(metrics, self.services.clock.now_ms());
        metrics
            .batch_duration
            .observe(flight.started.elapsed().as_secs_f64());
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
