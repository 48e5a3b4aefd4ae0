//! Output records of a unit of work, queued in memory while its events are handled
//! and written to the outbox in one go before the transaction commits. This is the
//! one place that gives every record its deterministic `record_id`.

use graphhook_kafka::Topics;
use graphhook_schema::output::{record_id, OutputRecord};

use crate::domain::content::Rejection;
use crate::store::{OutboxEntry, StoreError, StoreTx};

/// The unit's output records, in the order they were produced.
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

    /// Queues `record` on the topic with `suffix`, keyed by `key`. Its `record_id`
    /// is derived from the topic, `source_id` and `effect` (what tells this
    /// source's records on the topic apart), so the same effect always gets the same
    /// id. A record that cannot be serialized rejects its source.
    pub fn push<T: OutputRecord>(
        &mut self,
        suffix: &str,
        key: &str,
        mut record: T,
        source_id: &str,
        effect: &str,
    ) -> Result<(), Rejection> {
        let id = record_id(suffix, source_id, effect);
        record.set_record_id(id.clone());
        let payload = serde_json::to_string(&record)
            .map_err(|e| Rejection(format!("an output record cannot be serialized: {e}")))?;
        self.entries.push(OutboxEntry {
            topic: self.topics.name(suffix),
            key: key.to_owned(),
            payload,
            source_event_id: source_id.to_owned(),
            record_id: id,
        });
        Ok(())
    }

    /// Writes the queued records to the outbox; returns their outbox ids.
    pub async fn flush(&mut self, tx: &mut StoreTx, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        let ids = tx.enqueue_many(&self.entries, now_ms).await?;
        self.entries.clear();
        Ok(ids)
    }
}
