//! Sends committed outbox records to Kafka and forgets them once acknowledged. Runs
//! after every committed batch, before its offsets are committed, and at start (to
//! finish what a crash interrupted). A record may therefore be sent twice after a
//! crash; it carries its source event id so consumers can drop the repeat.

use std::collections::BTreeMap;
use std::time::Duration;

use graphhook_schema::topics::headers;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::store::{Store, StoreError};

/// Why relaying stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Reading or deleting outbox rows failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Kafka did not acknowledge a record.
    #[error("Kafka did not acknowledge an output record")]
    Kafka(#[source] rdkafka::error::KafkaError),
}

/// Outbox rows read at a time.
const PAGE: i64 = 1_000;
/// How long a record may wait in the producer queue.
const ENQUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// Relays every pending outbox row; returns how many were sent, by topic.
pub async fn relay(
    store: &Store,
    producer: &FutureProducer,
) -> Result<BTreeMap<String, u64>, RelayError> {
    let mut sent = BTreeMap::new();
    loop {
        let rows = store.pending_outbox(PAGE).await?;
        if rows.is_empty() {
            return Ok(sent);
        }
        let mut acks = Vec::with_capacity(rows.len());
        for row in &rows {
            let event_id = Header {
                key: headers::EVENT_ID,
                value: Some(row.source_event_id.as_bytes()),
            };
            let record = FutureRecord::to(&row.topic)
                .key(&row.key)
                .payload(&row.payload)
                .headers(OwnedHeaders::new().insert(event_id));
            acks.push(producer.send(record, Timeout::After(ENQUEUE_TIMEOUT)));
        }
        for ack in acks {
            ack.await.map_err(|(error, _)| RelayError::Kafka(error))?;
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        store.delete_outbox(&ids).await?;
        for row in rows {
            *sent.entry(row.topic).or_default() += 1;
        }
    }
}
