//! The consumer's side of the offset watch: a record the broker served past
//! others is dropped and its partition re-read (see [`super::offsets`]).

use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset};

use super::consumer::EventLoop;
use super::offsets::Verdict;

/// How long a seek for a re-read may take.
const SEEK_TIMEOUT: Duration = Duration::from_secs(5);

impl EventLoop {
    /// `message`, unless it lies past a gap: then it is dropped and its
    /// partition re-read from where the gap starts (or, when the broker answers
    /// past it again, from further back). Counts and logs gaps and re-reads.
    pub(super) fn watched(&self, message: OwnedMessage) -> Option<OwnedMessage> {
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        let metrics = &self.services.metrics;
        match self.offsets.receive(topic, partition, offset) {
            Verdict::Take => return Some(message),
            Verdict::Healed { from } => {
                tracing::info!(
                    topic,
                    partition,
                    from,
                    offset,
                    "offset gap healed: the re-read reached the records the broker had skipped"
                );
                metrics
                    .offset_gap_rereads
                    .with_label_values(&[topic, "healed"])
                    .inc();
                return Some(message);
            }
            Verdict::GivenUp { from } => {
                tracing::error!(topic, partition, from, offset, "offset gap given up: however far back it was re-read, the broker answers past these records; they were not applied and must be replayed (graphhook replay)");
                metrics
                    .offset_gap_rereads
                    .with_label_values(&[topic, "given_up"])
                    .inc();
                return Some(message);
            }
            Verdict::Reread {
                from,
                skipped,
                seek_to,
            } => {
                if skipped > 0 {
                    tracing::warn!(topic, partition, expected = from, served = offset, skipped, "the broker served a record past offsets it did not serve; re-reading the partition");
                    metrics
                        .offset_gaps
                        .with_label_values(&[topic, &partition.to_string()])
                        .inc_by(u64::try_from(skipped).unwrap_or(0));
                }
                if let Err(error) =
                    self.consumer
                        .seek(topic, partition, Offset::Offset(seek_to), SEEK_TIMEOUT)
                {
                    tracing::warn!(%error, topic, partition, seek_to, "cannot seek to re-read an offset gap; the next record tries again");
                }
            }
        }
        None
    }
}
