//! Reads every record of a topic whose timestamp lies in a range, from all
//! partitions, up to the high watermarks seen at the start (records written during
//! the replay are not read). Runs on a blocking thread and hands records over a
//! bounded channel, so a long range is streamed, not held in memory.

use std::time::Duration;

use graphhook_kafka::logging::LoggedContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;

use super::ReplayError;

/// How long reading may make no progress before it gives up.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Metadata and offset lookups.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(15);

/// A time range, epoch milliseconds, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First instant.
    pub from_ms: i64,
    /// Last instant.
    pub to_ms: i64,
}

impl TimeRange {
    fn contains(&self, ms: i64) -> bool {
        (self.from_ms..=self.to_ms).contains(&ms)
    }
}

/// Starts reading `topic` in `range`; records arrive on the returned channel, which
/// closes when the range is read. The join handle answers whether reading succeeded.
pub fn read_range(
    mut config: ClientConfig,
    topic: String,
    range: TimeRange,
) -> (
    mpsc::Receiver<OwnedMessage>,
    tokio::task::JoinHandle<Result<u64, ReplayError>>,
) {
    let (tx, rx) = mpsc::channel(1_000);
    config
        .set(
            "group.id",
            format!("graphhook-replay-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    let task = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer<LoggedContext> = config
            .create_with_context(LoggedContext)
            .map_err(ReplayError::Kafka)?;
        read(&consumer, &topic, range, &tx)
    });
    (rx, task)
}

fn read(
    consumer: &BaseConsumer<LoggedContext>,
    topic: &str,
    range: TimeRange,
    out: &mpsc::Sender<OwnedMessage>,
) -> Result<u64, ReplayError> {
    let metadata = consumer
        .fetch_metadata(Some(topic), LOOKUP_TIMEOUT)
        .map_err(ReplayError::Kafka)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(ReplayError::NoSuchTopic(topic.to_owned()));
    }
    let mut wanted = TopicPartitionList::new();
    for partition in &partitions {
        wanted
            .add_partition_offset(topic, *partition, Offset::Offset(range.from_ms))
            .map_err(ReplayError::Kafka)?;
    }
    let starts = consumer
        .offsets_for_times(wanted, LOOKUP_TIMEOUT)
        .map_err(ReplayError::Kafka)?;
    let mut assignment = TopicPartitionList::new();
    let mut ends = std::collections::HashMap::new();
    for element in starts.elements() {
        let (low, high) = consumer
            .fetch_watermarks(topic, element.partition(), LOOKUP_TIMEOUT)
            .map_err(ReplayError::Kafka)?;
        // Brokers without timestamp lookups (librdkafka's mock cluster) answer `End`;
        // a non-empty partition is then scanned from its start and filtered by time.
        let start = match element.offset() {
            Offset::Offset(start) => start,
            _ => low,
        };
        if start < high {
            assignment
                .add_partition_offset(topic, element.partition(), Offset::Offset(start))
                .map_err(ReplayError::Kafka)?;
            ends.insert(element.partition(), high);
        }
    }
    if ends.is_empty() {
        return Ok(0);
    }
    consumer.assign(&assignment).map_err(ReplayError::Kafka)?;
    let mut read = 0;
    let mut last_progress = std::time::Instant::now();
    while !ends.is_empty() {
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            if last_progress.elapsed() > STALL_TIMEOUT {
                return Err(ReplayError::Stalled(STALL_TIMEOUT));
            }
            continue;
        };
        let message = result.map_err(ReplayError::Kafka)?;
        last_progress = std::time::Instant::now();
        if ends
            .get(&message.partition())
            .is_some_and(|high| message.offset() + 1 >= *high)
        {
            ends.remove(&message.partition());
        }
        let in_range = message
            .timestamp()
            .to_millis()
            .is_some_and(|ms| range.contains(ms));
        if in_range {
            read += 1;
            if out.blocking_send(message.detach()).is_err() {
                break;
            }
        }
    }
    Ok(read)
}
