//! Sends a request's records through the shared [`AckedSender`] and waits until
//! Kafka has acknowledged every one of them, or the produce deadline passes. It
//! also remembers whether deliveries can be stored at the moment, for `/readyz`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use graphhook_kafka::{AckedProducer, AckedSender, Record, SendError, Topics};
use graphhook_schema::time::now_millis;
use rdkafka::error::KafkaError;

use crate::records::{OutgoingRecord, TopicKind};

/// After a failed publish, readiness stays false this long unless a publish
/// succeeds; then the broker check alone decides again, so that an instance the
/// load balancer took out of rotation comes back and tries.
const FAILURE_WINDOW_MS: i64 = 10_000;

/// Sends requests' records and waits for their acknowledgement.
#[derive(Clone)]
pub struct Publisher {
    sender: Arc<AckedSender>,
    deliveries: Arc<str>,
    events: Arc<str>,
    deadline: Duration,
    /// When the latest publish failed, epoch ms; 0 after a success.
    failed_at_ms: Arc<AtomicI64>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Publisher {
    /// A publisher writing to `topics`, giving up after `deadline`.
    pub fn new(sender: AckedSender, topics: &Topics, deadline: Duration) -> Self {
        Publisher {
            sender: Arc::new(sender),
            deliveries: topics.deliveries().into(),
            events: topics.events().into(),
            deadline,
            failed_at_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Whether the broker answers a metadata request for the deliveries topic.
    pub async fn broker_answers(&self, timeout: Duration) -> Result<(), String> {
        self.sender
            .broker_answers(self.deliveries_topic(), timeout)
            .await
    }

    /// The current producer.
    pub fn producer(&self) -> Arc<AckedProducer> {
        self.sender.producer()
    }

    /// The full name of the deliveries topic.
    pub fn deliveries_topic(&self) -> &str {
        &self.deliveries
    }

    /// Sends every record and returns once all are acknowledged by Kafka.
    pub async fn publish(&self, records: Vec<OutgoingRecord>) -> Result<(), SendError> {
        let records = records
            .into_iter()
            .map(|record| Record {
                topic: match record.topic {
                    TopicKind::Deliveries => Arc::clone(&self.deliveries),
                    TopicKind::Events => Arc::clone(&self.events),
                },
                key: record.key,
                payload: record.payload,
                headers: record.headers,
            })
            .collect();
        let result = self.sender.send_all(records, self.deadline).await;
        let failed_at = if result.is_ok() { 0 } else { now_millis() };
        self.failed_at_ms.store(failed_at, Ordering::Relaxed);
        result
    }

    /// `Err` with the reason while deliveries cannot be stored: the producer failed
    /// fatally and cannot be replaced, or the latest publish failed within the last
    /// few seconds. Replaces a fatally failed producer on the way.
    pub fn storing(&self) -> Result<(), String> {
        if let Some(fatal) = self.sender.recover_if_fatal() {
            tracing::warn!(error = %fatal, "readiness check replaced a failed Kafka producer");
        }
        let failed_at = self.failed_at_ms.load(Ordering::Relaxed);
        if failed_at != 0 && now_millis() - failed_at < FAILURE_WINDOW_MS {
            return Err("the latest delivery could not be stored in Kafka".to_owned());
        }
        Ok(())
    }

    /// How many times a broken producer was replaced.
    pub fn producers_replaced(&self) -> u64 {
        self.sender.recreated()
    }

    /// Waits for queued records to be acknowledged (shutdown).
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.sender.flush(timeout)
    }
}
