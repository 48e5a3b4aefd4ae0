//! The processor consumer's librdkafka callbacks: progress is committed when
//! partitions are revoked, an assignment tells the offset watch where each
//! partition starts, and statistics become the consumer-lag gauge.
//!
//! Offsets are *stored* (`enable.auto.offset.store=false`) only after a batch's
//! effects are committed and its outputs acknowledged, so committing the stored
//! offsets at revocation never skips a record that was fetched but not applied.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::{ClientContext, Offset};

pub use super::offsets::OffsetWatch;
use crate::metrics::ProcessorMetrics;

/// Callbacks of the processor's consumer.
pub struct ProcessorContext {
    metrics: ProcessorMetrics,
    offsets: OffsetWatch,
}

impl ProcessorContext {
    /// Reports into `metrics`; `offsets` is forgotten at every rebalance and
    /// told where each assigned partition starts.
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

    /// Where each assigned partition starts: its committed offset, or (none
    /// committed: `auto.offset.reset` is `earliest`) the log's start. The first
    /// record served is compared with it.
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(partitions) = rebalance else {
            return;
        };
        let committed = match consumer.committed_offsets((*partitions).clone(), START_TIMEOUT) {
            Ok(committed) => committed,
            Err(error) => {
                tracing::warn!(%error, "cannot read the committed offsets of the assignment: its first records are not checked for gaps");
                TopicPartitionList::new()
            }
        };
        for element in committed.elements() {
            let (topic, partition) = (element.topic(), element.partition());
            self.metrics
                .offset_gaps
                .with_label_values(&[topic, &partition.to_string()]);
            let start = match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => consumer
                    .fetch_watermarks(topic, partition, START_TIMEOUT)
                    .ok()
                    .map(|(low, _)| low),
            };
            if let Some(start) = start {
                self.offsets.start(topic, partition, start);
            }
        }
    }
}

/// How long an assignment waits for its committed offsets and log starts.
const START_TIMEOUT: Duration = Duration::from_secs(5);
