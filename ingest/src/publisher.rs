//! Sends a request's records and waits until Kafka has acknowledged every one of
//! them, or the produce deadline passes.
//!
//! Each request gets one [`RequestAck`] that every record's delivery report counts
//! down, so a request costs one wake-up however many records it has.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use graphhook_kafka::Topics;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::util::Timeout;
use rdkafka::ClientContext;
use tokio::sync::oneshot;
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
    /// The producer dropped the request without an answer (shutting down).
    #[error("the producer dropped the request")]
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

/// The acknowledgement state of one request's records.
#[derive(Debug)]
pub struct RequestAck {
    remaining: AtomicUsize,
    done: Mutex<Option<oneshot::Sender<Result<(), KafkaError>>>>,
}

impl RequestAck {
    fn new(records: usize) -> (Arc<Self>, oneshot::Receiver<Result<(), KafkaError>>) {
        let (tx, rx) = oneshot::channel();
        let ack = RequestAck {
            remaining: AtomicUsize::new(records),
            done: Mutex::new(Some(tx)),
        };
        (Arc::new(ack), rx)
    }

    fn finish(&self, outcome: Result<(), KafkaError>) {
        let sender = self.done.lock().ok().and_then(|mut done| done.take());
        if let Some(sender) = sender {
            // The request may have given up already; then nobody is listening.
            let _ = sender.send(outcome);
        }
    }

    fn record_delivered(&self, result: Result<(), KafkaError>) {
        match result {
            Err(error) => self.finish(Err(error)),
            Ok(()) if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 => self.finish(Ok(())),
            Ok(()) => {}
        }
    }
}

/// Producer context that routes delivery reports to their request.
#[derive(Debug, Clone, Copy, Default)]
pub struct AckContext;

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = Arc<RequestAck>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Self::DeliveryOpaque) {
        ack.record_delivered(
            result
                .as_ref()
                .map(|_| ())
                .map_err(|(error, _)| error.clone()),
        );
    }
}

/// The idempotent, `acks=all` producer ingest writes with.
pub type IngestProducer = ThreadedProducer<AckContext>;

/// Sends requests' records and waits for their acknowledgement.
#[derive(Clone)]
pub struct Publisher {
    producer: Arc<IngestProducer>,
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
    pub fn new(producer: IngestProducer, topics: &Topics, deadline: Duration) -> Self {
        Publisher {
            producer: Arc::new(producer),
            deliveries: topics.deliveries(),
            events: topics.events(),
            deadline,
        }
    }

    /// The underlying producer (readiness checks).
    pub fn producer(&self) -> Arc<IngestProducer> {
        Arc::clone(&self.producer)
    }

    /// The full name of the deliveries topic.
    pub fn deliveries_topic(&self) -> &str {
        &self.deliveries
    }

    /// Sends every record and returns once all are acknowledged by Kafka.
    pub async fn publish(&self, records: Vec<OutgoingRecord>) -> Result<(), PublishError> {
        if records.is_empty() {
            return Ok(());
        }
        let deadline = Instant::now() + self.deadline;
        let (ack, acknowledged) = RequestAck::new(records.len());
        for record in records {
            self.enqueue(record, &ack, deadline).await?;
        }
        match timeout_at(deadline, acknowledged).await {
            Err(_) => Err(PublishError::Deadline(self.deadline)),
            Ok(Err(_dropped)) => Err(PublishError::Canceled),
            Ok(Ok(Err(error))) => Err(PublishError::Refused(error)),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }

    async fn enqueue(
        &self,
        record: OutgoingRecord,
        ack: &Arc<RequestAck>,
        deadline: Instant,
    ) -> Result<(), PublishError> {
        let topic = match record.topic {
            TopicKind::Deliveries => &self.deliveries,
            TopicKind::Events => &self.events,
        };
        let mut base = BaseRecord::with_opaque_to(topic, Arc::clone(ack))
            .key(&record.key)
            .payload(&record.payload)
            .headers(record.headers);
        loop {
            match self.producer.send(base) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    if Instant::now() + QUEUE_FULL_BACKOFF >= deadline {
                        return Err(PublishError::QueueFull);
                    }
                    base = returned;
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
