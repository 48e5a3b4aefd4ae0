//! Sending rows and awaiting Kafka's acknowledgements, deleting what was
//! acknowledged, and parking what Kafka refuses for good.

use std::collections::HashMap;
use std::sync::Arc;

use graphhook_kafka::Record;
use graphhook_schema::topics::headers;
use rdkafka::message::{Header, OwnedHeaders};

use super::error::error_chain;
use super::{Relay, RelayError};
use crate::store::OutboxRow;

impl Relay {
    /// Deletes the acknowledged rows `flush` sent; on failure they are kept for
    /// the next try (their claim keeps other relays off them meanwhile).
    pub(super) async fn delete_sent(&self) -> Result<(), RelayError> {
        let ids = match self.inner.to_delete.lock() {
            Ok(mut queue) => std::mem::take(&mut *queue),
            Err(_) => return Ok(()),
        };
        if ids.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.delete_acknowledged(&ids).await {
            if let Ok(mut queue) = self.inner.to_delete.lock() {
                queue.extend(ids);
            }
            return Err(error);
        }
        Ok(())
    }

    /// Sends the rows not acknowledged before, then deletes the page.
    pub(super) async fn send_page(&self, rows: &[OutboxRow]) -> Result<(), RelayError> {
        self.send_only(rows).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        self.delete_acknowledged(&ids).await
    }

    /// Deletes acknowledged rows and forgets them.
    async fn delete_acknowledged(&self, ids: &[i64]) -> Result<(), RelayError> {
        let started = std::time::Instant::now();
        self.inner.store.delete_outbox(ids).await?;
        tracing::trace!(
            rows = ids.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "outbox deleted"
        );
        self.forget(ids);
        Ok(())
    }

    /// Sends the rows not acknowledged before and awaits their acknowledgement.
    pub(super) async fn send_only(&self, rows: &[OutboxRow]) -> Result<(), RelayError> {
        let inner = &self.inner;
        let started = std::time::Instant::now();
        let unsent: Vec<&OutboxRow> = rows
            .iter()
            .filter(|r| !self.was_acknowledged(r.id))
            .collect();
        match inner
            .sender
            .send_all(records(&unsent), inner.deadline)
            .await
        {
            Ok(()) => self.acknowledged(&unsent),
            Err(error) if error.is_permanent() => self.send_one_by_one(&unsent).await?,
            Err(error) => return Err(error.into()),
        }
        tracing::trace!(
            elapsed_us = started.elapsed().as_micros() as u64,
            "outbox sent"
        );
        Ok(())
    }

    /// Kafka refused something in a page for good: send its rows one at a time and
    /// park those it refuses.
    async fn send_one_by_one(&self, rows: &[&OutboxRow]) -> Result<(), RelayError> {
        let inner = &self.inner;
        for row in rows {
            match inner.sender.send_all(records(&[row]), inner.deadline).await {
                Ok(()) => self.acknowledged(&[row]),
                Err(error) if error.is_permanent() => {
                    let reason = error_chain(&error);
                    tracing::error!(topic = %row.topic, record_id = %row.record_id, %reason, "Kafka refuses an output record for good; parked in outbox_parked");
                    inner
                        .store
                        .park_outbox(row.id, &reason, inner.clock.now_ms())
                        .await?;
                    inner
                        .metrics
                        .outputs_parked
                        .with_label_values(&[topic_label(&row.topic)])
                        .inc();
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    fn acknowledged(&self, rows: &[&OutboxRow]) {
        if let Ok(mut set) = self.inner.acknowledged.lock() {
            set.extend(rows.iter().map(|r| r.id));
        }
        let mut by_topic: HashMap<&str, u64> = HashMap::new();
        for row in rows {
            *by_topic.entry(topic_label(&row.topic)).or_default() += 1;
        }
        for (topic, n) in by_topic {
            self.inner
                .metrics
                .outputs
                .with_label_values(&[topic])
                .inc_by(n);
        }
    }

    fn was_acknowledged(&self, id: i64) -> bool {
        self.inner
            .acknowledged
            .lock()
            .map(|set| set.contains(&id))
            .unwrap_or(false)
    }

    fn forget(&self, ids: &[i64]) {
        if let Ok(mut set) = self.inner.acknowledged.lock() {
            for id in ids {
                set.remove(id);
            }
        }
    }
}

/// The output topic's suffix (`accounts.v1`, ...) as a bounded metric label.
fn topic_label(topic: &str) -> &'static str {
    graphhook_schema::topics::OUTPUT_TOPICS
        .iter()
        .find(|suffix| topic.ends_with(*suffix))
        .copied()
        .unwrap_or("other")
}

fn records(rows: &[&OutboxRow]) -> Vec<Record> {
    let mut topics: HashMap<&str, Arc<str>> = HashMap::new();
    rows.iter()
        .map(|row| {
            let topic = topics
                .entry(row.topic.as_str())
                .or_insert_with(|| Arc::from(row.topic.as_str()))
                .clone();
            let headers = OwnedHeaders::new_with_capacity(2)
                .insert(Header {
                    key: headers::EVENT_ID,
                    value: Some(row.source_event_id.as_bytes()),
                })
                .insert(Header {
                    key: headers::RECORD_ID,
                    value: Some(row.record_id.as_bytes()),
                });
            Record {
                topic,
                key: row.key.clone(),
                payload: row.payload.clone().into_bytes(),
                headers,
            }
        })
        .collect()
}
