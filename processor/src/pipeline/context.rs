//! The processor consumer's librdkafka callbacks: progress is committed when
//! partitions are revoked, and statistics become the consumer-lag gauge.
//!
//! Offsets are *stored* (`enable.auto.offset.store=false`) only after a batch's
//! effects are committed and its outputs acknowledged, so committing the stored
//! offsets at revocation never skips a record that was fetched but not applied.

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::statistics::Statistics;
use rdkafka::ClientContext;

use crate::metrics::ProcessorMetrics;

/// Callbacks of the processor's consumer.
pub struct ProcessorContext {
    metrics: ProcessorMetrics,
}

impl ProcessorContext {
    /// Reports into `metrics`.
    pub fn new(metrics: ProcessorMetrics) -> Self {
        ProcessorContext { metrics }
    }
}

impl ClientContext for ProcessorContext {
    fn stats(&self, statistics: Statistics) {
        for (name, topic) in &statistics.topics {
            for (id, partition) in &topic.partitions {
                if *id < 0 || partition.consumer_lag < 0 {
                    continue;
                }
                self.metrics
                    .consumer_lag
                    .with_label_values(&[name.as_str(), &id.to_string()])
                    .set(partition.consumer_lag);
            }
        }
    }
}

impl ConsumerContext for ProcessorContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
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
