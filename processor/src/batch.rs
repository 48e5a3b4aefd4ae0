//! Applies one batch of consumed records in one database transaction: each event's
//! effects, its id and its output records (in the outbox) commit together. Records
//! that can never be processed are dead-lettered in the same transaction.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use graphhook_kafka::Topics;
use graphhook_schema::account::{AccountState, Reason};
use graphhook_schema::normalize::json_error_category;
use graphhook_schema::output::{DeadLetterRecord, GraphErrorReport, OUTPUT_VERSION};
use graphhook_schema::topics::{DLQ, GRAPH_ERRORS};
use graphhook_schema::InboundEvent;
use rdkafka::message::{Headers, OwnedMessage};
use rdkafka::Message;

use crate::handler::{handle_events, handle_graph_error};
use crate::metrics::ProcessorMetrics;
use crate::outputs::Outputs;
use crate::store::{Store, StoreError, StoreTx};

/// What a committed batch did, recorded in metrics once its outputs are
/// acknowledged.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// Records in the batch.
    pub records: usize,
    /// (object, field, outcome) counts.
    pub events: BTreeMap<(String, String, &'static str), u64>,
    /// Transitions by new state and reason.
    pub transitions: Vec<(AccountState, Reason)>,
    /// Invalidation records written.
    pub invalidations: u64,
    /// Invalidations coalesced.
    pub coalesced: u64,
    /// Graph error reports by class.
    pub graph_errors: BTreeMap<&'static str, u64>,
    /// Dead-lettered records by source topic.
    pub dead_letters: BTreeMap<String, u64>,
    /// Data deletions carried out, by app id.
    pub data_deletions: BTreeMap<String, u64>,
    /// Ingest receipt times of applied events, epoch milliseconds.
    pub received_at_ms: Vec<i64>,
}

impl BatchReport {
    fn count(&mut self, object: &str, field: &str, outcome: &'static str) {
        *self
            .events
            .entry((object.to_owned(), field.to_owned(), outcome))
            .or_default() += 1;
    }

    fn dead_lettered(&mut self, topic: &str) {
        *self.dead_letters.entry(topic.to_owned()).or_default() += 1;
        self.count("unknown", "unknown", "dead_lettered");
    }

    /// Adds this batch to the metrics; `committed_at_ms` is when its outputs were
    /// acknowledged.
    pub fn record(&self, metrics: &ProcessorMetrics, committed_at_ms: i64) {
        metrics.batch_records.observe(self.records as f64);
        for ((object, field, outcome), n) in &self.events {
            metrics
                .events
                .with_label_values(&[object.as_str(), field.as_str(), outcome])
                .inc_by(*n);
        }
        for (to, reason) in &self.transitions {
            metrics
                .transitions
                .with_label_values(&[to.as_str(), reason.as_str()])
                .inc();
        }
        let invalidations = &metrics.invalidations;
        invalidations
            .with_label_values(&["written"])
            .inc_by(self.invalidations);
        invalidations
            .with_label_values(&["coalesced"])
            .inc_by(self.coalesced);
        for (class, n) in &self.graph_errors {
            metrics.graph_errors.with_label_values(&[class]).inc_by(*n);
        }
        for (topic, n) in &self.dead_letters {
            metrics
                .dead_letters
                .with_label_values(&[topic.as_str()])
                .inc_by(*n);
        }
        for (app_id, n) in &self.data_deletions {
            metrics
                .data_deletions
                .with_label_values(&[app_id.as_str()])
                .inc_by(*n);
        }
        for received in &self.received_at_ms {
            let seconds = (committed_at_ms - received).max(0) as f64 / 1000.0;
            metrics.webhook_to_commit.observe(seconds);
        }
    }
}

/// Applies `batch` and commits; nothing of it is kept when this fails.
pub async fn apply_to_store(
    store: &Store,
    topics: &Topics,
    batch: &[OwnedMessage],
    now_ms: i64,
) -> Result<BatchReport, StoreError> {
    let mut tx = store.begin().await?;
    let mut report = BatchReport {
        records: batch.len(),
        ..BatchReport::default()
    };
    let graph_errors = topics.name(GRAPH_ERRORS);
    // Consecutive events are handled together; a graph error report or a
    // dead-lettered record in between ends the run, so outputs keep their order.
    let mut run: Vec<InboundEvent> = Vec::new();
    for message in batch {
        if message.topic() != graph_errors {
            match parse::<InboundEvent>(message, "an inbound event") {
                Ok(event) => run.push(event),
                Err(reason) => {
                    handle_run(&mut tx, topics, &mut run, &mut report, now_ms).await?;
                    dead_letter(&mut tx, topics, message, reason, &mut report, now_ms).await?;
                }
            }
            continue;
        }
        handle_run(&mut tx, topics, &mut run, &mut report, now_ms).await?;
        match parse::<GraphErrorReport>(message, "a graph error report") {
            Ok(error) => {
                let id = source_id(message);
                let (class, outcome) =
                    handle_graph_error(&mut tx, topics, &error, &id, now_ms).await?;
                if !outcome.duplicate {
                    *report.graph_errors.entry(class.as_str()).or_default() += 1;
                }
                report.transitions.extend(outcome.transitions);
            }
            Err(reason) => {
                dead_letter(&mut tx, topics, message, reason, &mut report, now_ms).await?;
            }
        }
    }
    handle_run(&mut tx, topics, &mut run, &mut report, now_ms).await?;
    tx.commit().await?;
    Ok(report)
}

/// Handles the events gathered so far, and empties `run`.
async fn handle_run(
    tx: &mut StoreTx,
    topics: &Topics,
    run: &mut Vec<InboundEvent>,
    report: &mut BatchReport,
    now_ms: i64,
) -> Result<(), StoreError> {
    if run.is_empty() {
        return Ok(());
    }
    let outcomes = handle_events(tx, topics, run, now_ms).await?;
    for (event, outcome) in run.drain(..).zip(outcomes) {
        let label = if outcome.duplicate {
            "duplicate"
        } else {
            report.received_at_ms.push(event.received_at_ms);
            "applied"
        };
        report.count(&event.object, &event.field, label);
        report.transitions.extend(outcome.transitions);
        report.invalidations += outcome.invalidations as u64;
        report.coalesced += outcome.coalesced as u64;
        if outcome.data_deleted {
            *report.data_deletions.entry(event.app_id).or_default() += 1;
        }
    }
    Ok(())
}

/// Queues `message` on `dlq.v1` with `reason`, and counts it.
async fn dead_letter(
    tx: &mut StoreTx,
    topics: &Topics,
    message: &OwnedMessage,
    reason: String,
    report: &mut BatchReport,
    now_ms: i64,
) -> Result<(), StoreError> {
    tracing::warn!(topic = message.topic(), partition = message.partition(), offset = message.offset(), %reason, "record cannot be processed; dead-lettering it");
    let headers = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let key = message
        .key()
        .map(|k| String::from_utf8_lossy(k).into_owned());
    let record = DeadLetterRecord {
        version: OUTPUT_VERSION,
        source_topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        error: reason,
        error_class: None,
        failed_at_ms: now_ms,
        original_key: key.clone(),
        original_value_base64: STANDARD.encode(message.payload().unwrap_or_default()),
        original_headers: headers,
    };
    let mut outputs = Outputs::new(topics);
    outputs.push(
        DLQ,
        key.as_deref().unwrap_or(""),
        &record,
        &source_id(message),
    )?;
    outputs.flush(tx, now_ms).await?;
    report.dead_lettered(message.topic());
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(message: &OwnedMessage, what: &str) -> Result<T, String> {
    let payload = message
        .payload()
        .ok_or_else(|| "record has no value".to_owned())?;
    serde_json::from_slice(payload).map_err(|e| {
        format!(
            "not {what}: {} at line {}, column {}",
            json_error_category(&e),
            e.line(),
            e.column()
        )
    })
}

/// Where a record came from: `topic/partition/offset`, unique per record.
fn source_id(message: &OwnedMessage) -> String {
    format!(
        "{}/{}/{}",
        message.topic(),
        message.partition(),
        message.offset()
    )
}
