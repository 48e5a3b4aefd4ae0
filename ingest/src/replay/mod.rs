//! `graphhook replay`: re-drives stored deliveries from `deliveries.v1` through
//! normalization into `events.v1`, or dead-lettered records from `dlq.v1` into the
//! topic they came from. The processor's idempotency (event ids) makes both safe to
//! run at any time; they report what they re-drove.

mod deliveries;
mod dlq;
mod ends;
mod reader;
mod sender;

use std::collections::BTreeMap;
use std::time::Duration;

use graphhook_kafka::{
    base_config, producer_config, AckedSender, KafkaSettings, SendError, Topics,
};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;

use reader::read_range;
use sender::Sender;

pub use deliveries::{replay_deliveries, DeliveryFilter};
pub use dlq::replay_dead_letters;
pub use reader::TimeRange;

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Reading from Kafka failed.
    #[error("Kafka failed during the replay")]
    Kafka(#[source] KafkaError),
    /// Kafka did not acknowledge re-driven records.
    #[error("Kafka did not acknowledge re-driven records")]
    Send(#[source] SendError),
    /// The topic does not exist.
    #[error("topic {0} does not exist")]
    NoSuchTopic(String),
    /// The reading thread ended abnormally.
    #[error("the reader failed")]
    ReaderFailed,
    /// Nothing could be read for too long; where each partition stands.
    #[error("no record could be read for {0:?}; {where_}", where_ = .1.join("; "))]
    Stalled(Duration, Vec<String>),
}

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records read in the range.
    pub read: u64,
    /// Records skipped (another app; records that still cannot be re-driven), by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Records written, by topic.
    pub written: BTreeMap<String, u64>,
    /// Per partition: where reading stopped, and why.
    pub stops: Vec<String>,
}

impl ReplayReport {
    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_owned()).or_default() += 1;
    }

    fn wrote(&mut self, topic: &str) {
        *self.written.entry(topic.to_owned()).or_default() += 1;
    }
}

impl std::fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "read: {}", self.read)?;
        for (topic, n) in &self.written {
            writeln!(f, "re-driven to {topic}: {n}")?;
        }
        if self.skipped.is_empty() {
            writeln!(f, "skipped: 0")?;
        }
        for (reason, n) in &self.skipped {
            writeln!(f, "skipped ({reason}): {n}")?;
        }
        for stop in &self.stops {
            writeln!(f, "{stop}")?;
        }
        Ok(())
    }
}

/// Reads the topic `source` (a suffix) in `range` and hands each record to `each`,
/// which re-drives it through the sender or records why it is skipped; waits for
/// every re-driven record to be acknowledged.
async fn redrive<F>(
    kafka: &KafkaSettings,
    bootstrap: &str,
    source: &str,
    range: TimeRange,
    mut each: F,
) -> Result<ReplayReport, ReplayError>
where
    F: FnMut(&OwnedMessage, &mut Sender, &mut ReplayReport),
{
    let topics = Topics::new(&kafka.topic_prefix);
    let producer =
        AckedSender::new(producer_config(kafka, bootstrap)).map_err(ReplayError::Kafka)?;
    let mut sender = Sender::new(producer);
    let (mut records, reading) =
        read_range(base_config(kafka, bootstrap), topics.name(source), range);
    let mut report = ReplayReport::default();
    while let Some(message) = records.recv().await {
        report.read += 1;
        each(&message, &mut sender, &mut report);
        sender.settle_some().await?;
    }
    sender.settle_all().await?;
    report.stops = reading.await.map_err(|_| ReplayError::ReaderFailed)??;
    Ok(report)
}
