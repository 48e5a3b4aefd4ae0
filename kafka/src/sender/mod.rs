//! The one way graphhook sends records and awaits Kafka's acknowledgements: ingest
//! (a delivery and its events), the processor's outbox relay and replay all go
//! through [`AckedSender::send_all`].
//!
//! Each call gets one [`BatchAck`] that every record's delivery report counts down,
//! so a call costs one wake-up however many records it has. A producer that
//! librdkafka declares fatally failed (an idempotent producer whose sequence state
//! broke, e.g. after a broker stalled) never recovers by itself: the sender notices
//! it after a failed call, replaces the producer with a fresh one built from the
//! same configuration, and reports the failure as [`SendError::Fatal`].

mod ack;
mod error;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::ClientConfig;
use tokio::time::{timeout_at, Instant};

use ack::BatchAck;
pub use ack::{AckContext, AckedProducer};
pub use error::{breaks_producer, is_permanent, SendError};

/// A record to send.
#[derive(Debug)]
pub struct Record {
    /// Full topic name.
    pub topic: Arc<str>,
    /// Record key.
    pub key: String,
    /// Record value.
    pub payload: Vec<u8>,
    /// Record headers.
    pub headers: OwnedHeaders,
}

/// How long to wait before retrying a send into a full queue.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(2);

/// Sends records and awaits their acknowledgement; replaces a fatally failed
/// producer.
pub struct AckedSender {
    config: ClientConfig,
    producer: RwLock<Arc<AckedProducer>>,
    recreated: AtomicU64,
}

impl std::fmt::Debug for AckedSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckedSender")
            .field("recreated", &self.recreated.load(Ordering::Relaxed))
            .finish()
    }
}

impl AckedSender {
    /// A sender whose producers are created from `config` (see
    /// [`crate::producer_config`]).
    pub fn new(config: ClientConfig) -> Result<Self, KafkaError> {
        let producer = config.create_with_context(AckContext)?;
        Ok(AckedSender {
            config,
            producer: RwLock::new(Arc::new(producer)),
            recreated: AtomicU64::new(0),
        })
    }

    /// The current producer (readiness checks read metadata through it).
    pub fn producer(&self) -> Arc<AckedProducer> {
        match self.producer.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Whether the broker answers a metadata request for `topic` within `timeout`
    /// (readiness checks; a stalled broker does not).
    pub async fn broker_answers(&self, topic: &str, timeout: Duration) -> Result<(), String> {
        let producer = self.producer();
        let topic = topic.to_owned();
        let result = tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(Some(&topic), timeout)
                .map(|_| ())
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("the broker does not answer: {error}")),
            Err(join) => Err(join.to_string()),
        }
    }

    /// How many times a fatally failed producer was replaced.
    pub fn recreated(&self) -> u64 {
        self.recreated.load(Ordering::Relaxed)
    }

    /// Replaces the current producer if librdkafka declared it fatally failed, and
    /// says why; `None` when it is healthy (or could not be replaced). Readiness
    /// checks call this, so that a broken producer heals without traffic.
    pub fn recover_if_fatal(&self) -> Option<String> {
        let producer = self.producer();
        let (code, reason) = producer.client().fatal_error()?;
        let description = format!("{code}: {reason}");
        self.replace(&producer, &description).then_some(description)
    }

    /// Sends every record and returns once all are acknowledged by Kafka, or the
    /// first failure, or [`SendError::Deadline`] after `deadline`.
    pub async fn send_all(
        &self,
        records: Vec<Record>,
        deadline: Duration,
    ) -> Result<(), SendError> {
        if records.is_empty() {
            return Ok(());
        }
        self.recover_if_fatal();
        let producer = self.producer();
        let error = match send_with(&producer, records, deadline).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let fatal = producer
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{code}: {reason}"));
        let broken = match (&fatal, &error) {
            (Some(description), _) => Some(description.clone()),
            (None, SendError::Refused { error, .. }) if breaks_producer(error) => {
                Some(error.to_string())
            }
            _ => None,
        };
        match broken {
            Some(description) => {
                self.replace(&producer, &description);
                Err(SendError::Fatal(description))
            }
            None => Err(error),
        }
    }

    /// Waits for queued records to be acknowledged (shutdown).
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer().flush(Timeout::After(timeout))
    }

    /// Replaces `broken` with a new producer unless another caller already did;
    /// `true` when a replacement exists now.
    fn replace(&self, broken: &Arc<AckedProducer>, why: &str) -> bool {
        let mut current = match self.producer.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !Arc::ptr_eq(&current, broken) {
            return true;
        }
        match self.config.create_with_context(AckContext) {
            Ok(fresh) => {
                *current = Arc::new(fresh);
                self.recreated.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %why, "the Kafka producer is broken; replaced it with a new one");
                true
            }
            Err(error) => {
                tracing::error!(broken = %why, %error, "the Kafka producer is broken and a new one cannot be created");
                false
            }
        }
    }
}

async fn send_with(
    producer: &AckedProducer,
    records: Vec<Record>,
    deadline: Duration,
) -> Result<(), SendError> {
    let until = Instant::now() + deadline;
    let (ack, acknowledged) = BatchAck::new(records.len());
    for record in records {
        enqueue(producer, record, &ack, until).await?;
    }
    match timeout_at(until, acknowledged).await {
        Err(_) => Err(SendError::Deadline(deadline)),
        Ok(Err(_dropped)) => Err(SendError::Canceled),
        Ok(Ok(Err(error))) => Err(SendError::Refused {
            permanent: is_permanent(&error),
            error,
        }),
        Ok(Ok(Ok(()))) => Ok(()),
    }
}

async fn enqueue(
    producer: &AckedProducer,
    record: Record,
    ack: &Arc<BatchAck>,
    until: Instant,
) -> Result<(), SendError> {
    let Record {
        topic,
        key,
        payload,
        headers,
    } = record;
    let mut base = BaseRecord::with_opaque_to(&topic, Arc::clone(ack))
        .key(&key)
        .payload(&payload)
        .headers(headers);
    loop {
        match producer.send(base) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                if Instant::now() + QUEUE_FULL_BACKOFF >= until {
                    return Err(SendError::QueueFull);
                }
                base = returned;
                tokio::time::sleep(QUEUE_FULL_BACKOFF).await;
            }
            Err((error, _)) => {
                return Err(SendError::Refused {
                    permanent: is_permanent(&error),
                    error,
                })
            }
        }
    }
}
