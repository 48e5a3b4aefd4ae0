//! Output records of a batch, queued in memory while its events are handled and
//! written to the outbox in one go before the transaction commits.

use graphhook_kafka::Topics;
use serde::Serialize;

use crate::store::{OutboxEntry, StoreError, StoreTx};

/// The batch's output records, in the order they were produced.
#[derive(Debug)]
pub struct Outputs<'t> {
    topics: &'t Topics,
    entries: Vec<OutboxEntry>,
}

impl<'t> Outputs<'t> {
    /// Outputs named with `topics`.
    pub fn new(topics: &'t Topics) -> Self {
        Outputs {
            topics,
            entries: Vec::new(),
        }
    }

    /// Queues `record` on the topic with `suffix`, keyed by `key`.
    pub fn push<T: Serialize>(
        &mut self,
        suffix: &str,
        key: &str,
        record: &T,
        source_event_id: &str,
    ) -> Result<(), StoreError> {
        let payload =
            serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.entries.push(OutboxEntry {
            topic: self.topics.name(suffix),
            key: key.to_owned(),
            payload,
            source_event_id: source_event_id.to_owned(),
        });
        Ok(())
    }

    /// Writes the queued records to the outbox.
    pub async fn flush(&mut self, tx: &mut StoreTx, now_ms: i64) -> Result<(), StoreError> {
        tx.enqueue_many(&self.entries, now_ms).await?;
        self.entries.clear();
        Ok(())
    }
}
