//! Sends a request's records and waits until Kafka has acknowledged every one of
//! them, or the produce deadline passes.

use std::time::Duration;

use graphhook_kafka::Topics;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use tokio::time::{timeout_at, Instant};

use crate::records::{OutgoingRecord, TopicKind};

/// Why a request's records were not all acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Not every record was acknowledged before the deadline.
    #[error("Kafka did not acknowledge within {0:?}")]
    Deadline(Duration),
    /// librdkafka's queue stayed full until the deadline.
    #[error("the producer queue stayed full")]
    QueueFull,
    /// Kafka refused a record.
    #[error("Kafka refused a record")]
    Refused(#[source] KafkaError),
    /// The producer dropped a record without an answer (shutting down).
    #[error("the producer dropped a record")]
    Canceled,
}

impl PublishError {
    /// A stable label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            PublishError::Deadline(_) => "deadline",
            PublishError::QueueFull => "queue_full",
            PublishError::Refused(_) => "refused",
            PublishError::Canceled => "canceled",
        }
    }
}

/// The idempotent, `acks=all` producer ingest writes with.
#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer,
    deliveries: String,
    events: String,
    deadline: Duration,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// How long to wait before retrying a send into a full queue.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(2);

impl Publisher {
    /// A publisher writing to `topics`, giving up after `deadline`.
    pub fn new(producer: FutureProducer, topics: &Topics, deadline: Duration) -> Self {
        Publisher {
            producer,
            deliveries: topics.deliveries(),
            events: topics.events(),
            deadline,
        }
    }

    /// The underlying producer (readiness checks, flushing).
    pub fn producer(&self) -> &FutureProducer {
        &self.producer
    }

    /// The full name of the deliveries topic.
    pub fn deliveries_topic(&self) -> &str {
        &self.deliveries
    }

    /// Sends every record and returns once all are acknowledged by Kafka.
    pub async fn publish(&self, records: &[OutgoingRecord]) -> Result<(), PublishError> {
        let deadline = Instant::now() + self.deadline;
        let mut pending = Vec::with_capacity(records.len());
        for record in records {
            pending.push(self.enqueue(record, deadline).await?);
        }
        for delivery in pending {
            match timeout_at(deadline, delivery).await {
                Err(_) => return Err(PublishError::Deadline(self.deadline)),
                Ok(Err(_canceled)) => return Err(PublishError::Canceled),
                Ok(Ok(Err((error, _message)))) => return Err(PublishError::Refused(error)),
                Ok(Ok(Ok(_delivered))) => {}
            }
        }
        Ok(())
    }

    async fn enqueue(
        &self,
        record: &OutgoingRecord,
        deadline: Instant,
    ) -> Result<rdkafka::producer::DeliveryFuture, PublishError> {
        let topic = match record.topic {
            TopicKind::Deliveries => &self.deliveries,
            TopicKind::Events => &self.events,
        };
        loop {
            let future_record = FutureRecord::to(topic)
                .key(&record.key)
                .payload(&record.payload)
                .headers(record.headers.clone());
            match self.producer.send_result(future_record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    if Instant::now() + QUEUE_FULL_BACKOFF >= deadline {
                        return Err(PublishError::QueueFull);
                    }
                    tokio::time::sleep(QUEUE_FULL_BACKOFF).await;
                }
                Err((error, _)) => return Err(PublishError::Refused(error)),
            }
        }
    }

    /// Waits for queued records to be acknowledged (shutdown).
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(Timeout::After(timeout))
    }
}
