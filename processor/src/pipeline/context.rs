//! The processor consumer's librdkafka callbacks: progress is committed when
//! partitions are revoked, and statistics become the consumer-lag gauge.
//!
//! Offsets are *stored* (`enable.auto.offset.store=false`) only after a batch's
//! effects are committed and its outputs acknowledged, so committing the stored
//! offsets at revocation never skips a record that was fetched but not applied.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::statistics::Statistics;
use rdkafka::ClientContext;

use crate::metrics::ProcessorMetrics;

/// The next offset expected per partition since the last rebalance: a record
/// further on means the broker served records past ones it never served.
#[derive(Debug, Clone, Default)]
pub struct OffsetWatch {
    expected: Arc<Mutex<HashMap<(String, i32), i64>>>,
}

impl OffsetWatch {
    /// Notes a received record; returns how many offsets were skipped before it
    /// (0 when none, or when the partition's first record since a rebalance).
    pub fn receive(&self, topic: &str, partition: i32, offset: i64) -> i64 {
        let Ok(mut expected) = self.expected.lock() else {
            return 0;
        };
        let key = (topic.to_owned(), partition);
        let skipped = expected.get(&key).map_or(0, |next| (offset - next).max(0));
        let next = expected.entry(key).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
        skipped
    }

    fn reset(&self) {
        if let Ok(mut expected) = self.expected.lock() {
            expected.clear();
        }
    }
}

/// Callbacks of the processor's consumer.
pub struct ProcessorContext {
    metrics: ProcessorMetrics,
    offsets: OffsetWatch,
}

impl ProcessorContext {
    /// Reports into `metrics`; `offsets` is forgotten at every rebalance.
    pub fn new(metrics: ProcessorMetrics, offsets: OffsetWatch) -> Self {
        ProcessorContext { metrics, offsets }
    }
}

impl ClientContext for ProcessorContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        graphhook_kafka::logging::log_line(level, fac, log_message);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        graphhook_kafka::logging::log_client_error(&error, reason);
    }

    /// Offsets of each assigned partition. `consumer_lag` is what is in the log
    /// beyond the committed offset. A committed offset past the high watermark means
    /// the broker's log ended behind what was consumed (the broker lost records or
    /// reports its log end wrongly): records it appends below that offset would be
    /// skipped, so `committed_beyond_log_end` makes it visible.
    fn stats(&self, statistics: Statistics) {
        for (name, topic) in &statistics.topics {
            for (id, partition) in &topic.partitions {
                if *id < 0 || !partition.desired {
                    continue;
                }
                let labels = [name.as_str(), &id.to_string()];
                let metrics = &self.metrics;
                if partition.hi_offset >= 0 {
                    metrics
                        .high_watermark
                        .with_label_values(&labels)
                        .set(partition.hi_offset);
                }
                if partition.committed_offset >= 0 {
                    metrics
                        .committed_offset
                        .with_label_values(&labels)
                        .set(partition.committed_offset);
                }
                if partition.consumer_lag >= 0 {
                    metrics
                        .consumer_lag
                        .with_label_values(&labels)
                        .set(partition.consumer_lag);
                }
                if partition.hi_offset >= 0 && partition.committed_offset >= 0 {
                    let beyond = (partition.committed_offset - partition.hi_offset).max(0);
                    if beyond > 0 {
                        tracing::warn!(topic = %name, partition = id, committed = partition.committed_offset, high_watermark = partition.hi_offset, "the committed offset lies beyond the broker's log end: records the broker appends below it would be skipped");
                    }
                    metrics
                        .committed_beyond_log_end
                        .with_label_values(&labels)
                        .set(beyond);
                }
            }
        }
    }
}

impl ConsumerContext for ProcessorContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.offsets.reset();
        match rebalance {
            Rebalance::Revoke(partitions) => {
                match consumer.commit_consumer_state(CommitMode::Sync) {
                    Ok(()) => tracing::info!(
                        partitions = partitions.count(),
                        "partitions revoked; progress committed"
                    ),
                    // Nothing stored since the last commit, or the group is gone: the
                    // next owner starts from the last commit and skips what was applied.
                    Err(error) => tracing::info!(
                        %error,
                        partitions = partitions.count(),
                        "partitions revoked; nothing new to commit"
                    ),
                }
            }
            Rebalance::Assign(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions assigned");
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OffsetWatch;

    #[test]
    fn a_gap_within_an_assignment_is_counted_and_a_rebalance_starts_over() {
        let watch = OffsetWatch::default();
        assert_eq!(
            watch.receive("t", 1, 700),
            0,
            "the first record since a rebalance"
        );
        assert_eq!(watch.receive("t", 1, 701), 0);
        assert_eq!(watch.receive("t", 1, 713), 11, "702 to 712 never served");
        assert_eq!(watch.receive("t", 1, 705), 0, "a redelivery is not a gap");
        assert_eq!(watch.receive("t", 2, 5), 0, "partitions apart");
        watch.reset();
        assert_eq!(watch.receive("t", 1, 900), 0);
    }
}
