//! Reads every record of a topic whose timestamp lies in a range, from all
//! partitions, to the end of the log as the broker serves it. Runs on a blocking
//! thread and hands records over a bounded channel, so a long range is streamed,
//! not held in memory.
//!
//! The high watermark a broker reports is not trusted as the end: tansu 0.6
//! reports the last record batch's base offset + 1, so a replay that stopped there
//! missed the rest of the last batch without a word. A partition is done when a
//! record past the starting watermark is later than the range (records written
//! during the replay are not re-driven), or when nothing more arrives for
//! [`IDLE_END`] once the watermark is reached; where and why each partition
//! stopped is part of the report.

use std::time::Duration;

use graphhook_kafka::logging::LoggedContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;

use super::ends::Ends;
use super::ReplayError;

/// Per partition: where and why reading stopped.
pub type Stops = Vec<String>;

/// How long reading may make no progress before it gives up.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long nothing must arrive, past the high watermark, for a partition's log
/// to have ended.
const IDLE_END: Duration = Duration::from_secs(2);
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
    tokio::task::JoinHandle<Result<Stops, ReplayError>>,
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
) -> Result<Stops, ReplayError> {
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
    let mut ends = Ends::default();
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
            ends.start(element.partition(), start, high);
        }
    }
    if !ends.open() {
        return Ok(Stops::new());
    }
    consumer.assign(&assignment).map_err(ReplayError::Kafka)?;
    let mut last_record = std::time::Instant::now();
    while ends.open() {
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            let idle = last_record.elapsed();
            if idle >= IDLE_END {
                ends.idle();
            }
            if ends.open() && idle > STALL_TIMEOUT {
                return Err(ReplayError::Stalled(STALL_TIMEOUT, ends.describe()));
            }
            continue;
        };
        let message = result.map_err(ReplayError::Kafka)?;
        last_record = std::time::Instant::now();
        let at = message.timestamp().to_millis();
        let after_range = at.is_some_and(|ms| ms > range.to_ms);
        ends.record(message.partition(), message.offset(), after_range);
        if at.is_some_and(|ms| range.contains(ms)) && out.blocking_send(message.detach()).is_err() {
            break;
        }
    }
    Ok(ends.describe())
}
