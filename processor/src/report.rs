//! What a unit of work did, recorded in metrics once its effects are committed and
//! its outputs acknowledged (so a retried batch is counted once).

use std::collections::BTreeMap;

use graphhook_schema::account::{AccountState, Reason};
use graphhook_schema::labels::{field_label, object_label};

use crate::metrics::ProcessorMetrics;

/// Counts of one unit of work. Every label is drawn from a bounded set.
#[derive(Debug, Default)]
pub struct WorkReport {
    /// Records consumed (batches only).
    pub records: usize,
    /// (object, field, outcome) counts.
    pub events: BTreeMap<(&'static str, &'static str, &'static str), u64>,
    /// Transitions by new state and reason.
    pub transitions: Vec<(AccountState, Reason)>,
    /// Invalidation records written.
    pub invalidations: u64,
    /// Invalidations coalesced.
    pub coalesced: u64,
    /// Graph error reports by class.
    pub graph_errors: BTreeMap<&'static str, u64>,
    /// Dead-lettered records by source topic and cause.
    pub dead_letters: BTreeMap<(String, &'static str), u64>,
    /// Data deletions carried out.
    pub data_deletions: u64,
    /// Ingest receipt times of applied events, epoch milliseconds.
    pub received_at_ms: Vec<i64>,
}

impl WorkReport {
    /// Counts one record of `object` and `field` with `outcome`.
    pub fn count(&mut self, object: &str, field: &str, outcome: &'static str) {
        *self
            .events
            .entry((object_label(object), field_label(field), outcome))
            .or_default() += 1;
    }

    /// Counts a dead-lettered record of `topic`; `cause` is `rejected`,
    /// `unparseable`, `refused_by_database`, `unstorable` or `repeated`
    /// (recognised as already dead-lettered: no second record).
    pub fn dead_lettered(&mut self, topic: &str, cause: &'static str) {
        *self
            .dead_letters
            .entry((topic.to_owned(), cause))
            .or_default() += 1;
        let outcome = if cause == "repeated" {
            "dead_letter_repeated"
        } else {
            "dead_lettered"
        };
        self.count("unknown", "unknown", outcome);
    }

    /// Adds `other`'s counts to this report.
    pub fn merge(&mut self, other: WorkReport) {
        self.records += other.records;
        for (key, n) in other.events {
            *self.events.entry(key).or_default() += n;
        }
        self.transitions.extend(other.transitions);
        self.invalidations += other.invalidations;
        self.coalesced += other.coalesced;
        for (key, n) in other.graph_errors {
            *self.graph_errors.entry(key).or_default() += n;
        }
        for (key, n) in other.dead_letters {
            *self.dead_letters.entry(key).or_default() += n;
        }
        self.data_deletions += other.data_deletions;
        self.received_at_ms.extend(other.received_at_ms);
    }

    /// Adds this report to the metrics; `committed_at_ms` is when its outputs were
    /// acknowledged.
    pub fn record(&self, metrics: &ProcessorMetrics, committed_at_ms: i64) {
        if self.records > 0 {
            metrics.batch_records.observe(self.records as f64);
        }
        for ((object, field, outcome), n) in &self.events {
            metrics
                .events
                .with_label_values(&[object, field, outcome])
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
        for ((topic, cause), n) in &self.dead_letters {
            metrics
                .dead_letters
                .with_label_values(&[topic.as_str(), cause])
                .inc_by(*n);
        }
        metrics.data_deletions.inc_by(self.data_deletions);
        for received in &self.received_at_ms {
            let seconds = (committed_at_ms - received).max(0) as f64 / 1000.0;
            metrics.webhook_to_commit.observe(seconds);
        }
    }
}
