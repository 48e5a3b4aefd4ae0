//! The consumer loop: batches of `events.v1` (and `graph-errors.v1`) records are applied in one database
//! transaction (effects, event ids and output records together), the outputs are
//! relayed to Kafka, and only then are the batch's offsets committed. A crash at any
//! point loses nothing and applies nothing twice.

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use graphhook_kafka::Topics;
use graphhook_schema::normalize::json_error_category;
use graphhook_schema::output::{DeadLetterRecord, GraphErrorReport, OUTPUT_VERSION};
use graphhook_schema::time::now_millis;
use graphhook_schema::topics::{DLQ, GRAPH_ERRORS};
use graphhook_schema::InboundEvent;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Headers, OwnedMessage};
use rdkafka::producer::FutureProducer;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};

use crate::handler::{handle, handle_graph_error, Outcome};
use crate::relay::{relay, RelayError};
use crate::store::{Store, StoreError, StoreTx};

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

/// Consumes `events.v1` and applies it.
pub struct EventLoop {
    /// The store.
    pub store: Store,
    /// The subscribed consumer.
    pub consumer: StreamConsumer,
    /// The output producer.
    pub producer: FutureProducer,
    /// Topic names.
    pub topics: Topics,
    /// Most records per batch.
    pub batch_size: usize,
    /// How long a batch waits to fill.
    pub batch_wait: Duration,
    /// First retry delay.
    pub retry_initial: Duration,
}

const RETRY_MAX: Duration = Duration::from_secs(30);

impl EventLoop {
    /// Runs until `shutdown` turns true, finishing the batch in hand.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        self.retry_until_done(&mut shutdown, || async {
            relay(&self.store, &self.producer)
                .await
                .map(|_| ())
                .map_err(BatchError::from)
        })
        .await;
        while !stopping(&shutdown) {
            let batch = self.next_batch(&mut shutdown).await;
            if batch.is_empty() {
                continue;
            }
            if !self
                .retry_until_done(&mut shutdown, || self.apply(&batch))
                .await
            {
                return;
            }
            self.commit(&batch);
        }
        tracing::info!("processor stopped");
    }

    async fn next_batch(&self, shutdown: &mut watch::Receiver<bool>) -> Vec<OwnedMessage> {
        let mut batch = Vec::new();
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

    /// Retries `attempt` with exponential backoff and jitter until it succeeds
    /// (`true`) or shutdown is asked for (`false`).
    async fn retry_until_done<F, Fut>(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        attempt: F,
    ) -> bool
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), BatchError>>,
    {
        let mut delay = self.retry_initial;
        loop {
            match attempt().await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(error = %error, cause = ?std::error::Error::source(&error), retry_in_ms = delay.as_millis() as u64, "batch failed; retrying");
                }
            }
            let jittered = delay.mul_f64(0.5 + jitter());
            tokio::select! {
                _ = tokio::time::sleep(jittered) => {}
                _ = shutdown.changed() => return false,
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    async fn apply(&self, batch: &[OwnedMessage]) -> Result<(), BatchError> {
        let now_ms = now_millis();
        let mut tx = self.store.begin().await?;
        let mut total = Outcome::default();
        let graph_errors = self.topics.name(GRAPH_ERRORS);
        for message in batch {
            if message.topic() == graph_errors {
                match parse::<GraphErrorReport>(message, "a graph error report") {
                    Ok(report) => {
                        let (class, outcome) = handle_graph_error(
                            &mut tx,
                            &self.topics,
                            &report,
                            &source_id(message),
                            now_ms,
                        )
                        .await?;
                        tracing::debug!(class = class.as_str(), account_id = %report.account_id, "graph error report");
                        total.transitions += outcome.transitions;
                    }
                    Err(reason) => self.dead_letter(&mut tx, message, reason, now_ms).await?,
                }
                continue;
            }
            match parse::<InboundEvent>(message, "an inbound event") {
                Ok(event) => {
                    let outcome = handle(&mut tx, &self.topics, &event, now_ms).await?;
                    total.transitions += outcome.transitions;
                    total.invalidations += outcome.invalidations;
                }
                Err(reason) => self.dead_letter(&mut tx, message, reason, now_ms).await?,
            }
        }
        tx.commit().await?;
        relay(&self.store, &self.producer).await?;
        tracing::debug!(
            records = batch.len(),
            transitions = total.transitions,
            invalidations = total.invalidations,
            "batch applied"
        );
        Ok(())
    }

    async fn dead_letter(
        &self,
        tx: &mut StoreTx,
        message: &OwnedMessage,
        reason: String,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        tracing::warn!(topic = message.topic(), partition = message.partition(), offset = message.offset(), %reason, "record cannot be processed; dead-lettering it");
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let key = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned());
        let record = DeadLetterRecord {
            version: OUTPUT_VERSION,
            source_topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            error: reason,
            error_class: None,
            failed_at_ms: now_ms,
            original_key: key.clone(),
            original_value_base64: STANDARD.encode(message.payload().unwrap_or_default()),
            original_headers: headers,
        };
        tx.enqueue_json(
            &self.topics.name(DLQ),
            key.as_deref().unwrap_or(""),
            &record,
            &source_id(message),
            now_ms,
        )
        .await
    }

    fn commit(&self, batch: &[OwnedMessage]) {
        let mut next: HashMap<(String, i32), i64> = HashMap::new();
        for message in batch {
            let entry = next
                .entry((message.topic().to_owned(), message.partition()))
                .or_insert(0);
            *entry = (*entry).max(message.offset() + 1);
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            if let Err(error) =
                offsets.add_partition_offset(&topic, partition, Offset::Offset(offset))
            {
                tracing::warn!(%error, "cannot record an offset");
            }
        }
        // Asynchronous: if the commit is lost, the batch is redelivered and its
        // claimed event ids make it a no-op.
        if let Err(error) = self.consumer.commit(&offsets, CommitMode::Async) {
            tracing::warn!(%error, "offset commit failed; the batch will be redelivered and skipped");
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(message: &OwnedMessage, what: &str) -> Result<T, String> {
    let payload = message
        .payload()
        .ok_or_else(|| "record has no value".to_owned())?;
    serde_json::from_slice(payload).map_err(|e| {
        format!(
            "not {what}: {} at line {}, column {}",
            json_error_category(&e),
            e.line(),
            e.column()
        )
    })
}

/// Where a record came from: `topic/partition/offset`, unique per record.
fn source_id(message: &OwnedMessage) -> String {
    format!(
        "{}/{}/{}",
        message.topic(),
        message.partition(),
        message.offset()
    )
}

/// Shutdown was asked for, or whoever could ask is gone (a dropped sender would
/// otherwise make `changed()` return at once, forever).
fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// A number in [0, 1) that differs between calls (spreads retries of replicas).
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1_000_000) / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_shutdown_sender_means_stop() {
        let (tx, rx) = watch::channel(false);
        assert!(!stopping(&rx));
        drop(tx);
        assert!(stopping(&rx));
        let (tx, rx) = watch::channel(false);
        let _ = tx.send(true);
        assert!(stopping(&rx));
    }
}
