//! Sends committed outbox records to Kafka and deletes them once acknowledged. Runs
//! after every committed batch, before its offsets are committed, and at start (to
//! finish what a crash interrupted).
//!
//! A page of rows is locked while it is sent, so replicas never send the same row.
//! Rows Kafka acknowledged but whose deletion failed (database down) are remembered
//! and only deleted on the next attempt, not sent again. Only a crash between the
//! acknowledgement and the deletion sends a record twice; every record carries its
//! source event id (value and `graphhook-event-id` header) so consumers can drop it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use graphhook_schema::topics::headers;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

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

/// Outbox rows sent at a time.
const PAGE: i64 = 1_000;

/// The outbox relay of one processor.
pub struct Relay {
    producer: FutureProducer,
    acknowledged: Mutex<BTreeSet<i64>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Relay")
    }
}

impl Relay {
    /// Relays through `producer`.
    pub fn new(producer: FutureProducer) -> Self {
        Relay {
            producer,
            acknowledged: Mutex::new(BTreeSet::new()),
        }
    }

    /// Relays every pending outbox row; returns how many were sent, by topic.
    pub async fn run(&self, store: &Store) -> Result<BTreeMap<String, u64>, RelayError> {
        let mut sent = BTreeMap::new();
        loop {
            let (mut tx, rows) = store.lock_outbox(PAGE).await?;
            if rows.is_empty() {
                return Ok(sent);
            }
            let mut acks = Vec::with_capacity(rows.len());
            for row in rows.iter().filter(|r| !self.was_acknowledged(r.id)) {
                let event_id = Header {
                    key: headers::EVENT_ID,
                    value: Some(row.source_event_id.as_bytes()),
                };
                let record = FutureRecord::to(&row.topic)
                    .key(&row.key)
                    .payload(&row.payload)
                    .headers(OwnedHeaders::new().insert(event_id));
                // Enqueued now (`send` would only enqueue when awaited, one record at
                // a time); all of the page's records are in flight together.
                let ack = self
                    .producer
                    .send_result(record)
                    .map_err(|(error, _)| RelayError::Kafka(error))?;
                acks.push((row.id, &row.topic, ack));
            }
            for (id, topic, ack) in acks {
                ack.await
                    .map_err(|_| RelayError::Kafka(KafkaError::Canceled))?
                    .map_err(|(error, _)| RelayError::Kafka(error))?;
                self.remember(id);
                *sent.entry(topic.clone()).or_default() += 1;
            }
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            tx.delete_outbox(&ids).await?;
            tx.commit().await?;
            self.forget(&ids);
        }
    }

    fn was_acknowledged(&self, id: i64) -> bool {
        self.acknowledged
            .lock()
            .map(|set| set.contains(&id))
            .unwrap_or(false)
    }

    fn remember(&self, id: i64) {
        if let Ok(mut set) = self.acknowledged.lock() {
            set.insert(id);
        }
    }

    fn forget(&self, ids: &[i64]) {
        if let Ok(mut set) = self.acknowledged.lock() {
            for id in ids {
                set.remove(id);
            }
        }
    }
}
