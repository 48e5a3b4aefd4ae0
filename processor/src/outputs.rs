//! Output records of a unit of work, queued in memory while its events are handled
//! and written to the outbox in one go before the transaction commits. This is the
//! one place that gives every record its deterministic `record_id`.

use graphhook_kafka::Topics;
use graphhook_schema::output::{record_id, OutputRecord};

use crate::domain::content::Rejection;
use crate::store::{OutboxClaim, OutboxEntry, OutboxRow, StoreError, StoreTx};

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

    /// Writes the queued records to the outbox; returns their outbox ids, and the
    /// rows written claimed by `claim` (those whose topic and key have no earlier
    /// row pending), for the caller to send itself.
    pub async fn flush(
        &mut self,
        tx: &mut StoreTx,
        now_ms: i64,
        claim: Option<&OutboxClaim>,
    ) -> Result<(Vec<i64>, Vec<OutboxRow>), StoreError> {
        let entries = std::mem::take(&mut self.entries);
        let claimable: Vec<bool> = match claim {
            Some(claim) if !entries.is_empty() => {
                let mut keys: Vec<(&str, &str)> = entries
                    .iter()
                    .map(|e| (e.topic.as_str(), e.key.as_str()))
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                let pending = tx.pending_outbox_keys(&keys, &claim.owner).await?;
                entries
                    .iter()
                    .map(|e| !pending.contains(&(e.topic.clone(), e.key.clone())))
                    .collect()
            }
            _ => vec![false; entries.len()],
        };
        let owner = claim.map(|c| (c.owner.as_str(), now_ms.saturating_add(c.lease_ms)));
        let ids = tx.enqueue_many(&entries, now_ms, owner, &claimable).await?;
        let claimed = entries
            .into_iter()
            .zip(&ids)
            .zip(claimable)
            .filter(|(_, claimed)| *claimed)
            .map(|((entry, id), _)| OutboxRow {
                id: *id,
                topic: entry.topic,
                key: entry.key,
                payload: entry.payload,
                source_event_id: entry.source_event_id,
                record_id: entry.record_id,
            })
            .collect();
        Ok((ids, claimed))
    }
}
