//! Tools of `bench/kill-loop.sh`, which kills the processor (`kill -9`) while it
//! works and checks that every event in the log is applied in the end:
//!
//! - `mock-broker` hosts librdkafka's mock cluster in a process of its own, so that
//!   it outlives the killed processor (a second broker implementation beside
//!   tansu: a loss on one and not the other tells whose fault it is);
//! - `offsets` prints a group's committed offsets beside each partition's
//!   watermarks;
//! - `missing` lists the records of `events.v1` whose events were never applied;
//! - `record-ids` lists the output records by topic and `record_id`, to compare
//!   a killed run's outputs with an uninterrupted run's.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use graphhook_kafka::{base_config, KafkaSettings, Topics};
use graphhook_processor::store::Store;
use graphhook_schema::topics::{INGEST_TOPICS, OUTPUT_TOPICS, PROCESSOR_TOPICS};
use graphhook_schema::InboundEvent;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::{Message, Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Where the events live.
#[derive(clap::Args)]
pub struct LogArgs {
    /// Bootstrap servers.
    #[arg(long)]
    pub brokers: String,
    /// Topic prefix.
    #[arg(long)]
    pub topic_prefix: String,
}

/// `offsets` arguments.
#[derive(clap::Args)]
pub struct OffsetsArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// The consumer group.
    #[arg(long)]
    pub group: String,
}

/// `missing` arguments.
#[derive(clap::Args)]
pub struct MissingArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// The processor's database.
    #[arg(long)]
    pub database_url: String,
}

/// Starts librdkafka's mock cluster (it does not implement CreateTopics: the
/// topics under each of `prefixes` are created here), prints
/// `bootstrap=<servers>` and serves until killed.
pub fn mock_broker(brokers: i32, prefixes: &[String], partitions: i32) -> anyhow::Result<()> {
    let cluster: MockCluster<'static, DefaultProducerContext> = MockCluster::new(brokers)?;
    for prefix in prefixes {
        let topics = Topics::new(prefix);
        for suffix in INGEST_TOPICS.iter().chain(&PROCESSOR_TOPICS) {
            cluster.create_topic(&topics.name(suffix), partitions, brokers)?;
        }
    }
    println!("bootstrap={}", cluster.bootstrap_servers());
    std::io::stdout().flush()?;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn consumer(log: &LogArgs, group: &str) -> anyhow::Result<BaseConsumer> {
    let kafka = KafkaSettings {
        brokers: log.brokers.clone(),
        topic_prefix: log.topic_prefix.clone(),
        ..Default::default()
    };
    let mut config = base_config(&kafka, &log.brokers);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false");
    Ok(config.create()?)
}

fn partitions(consumer: &BaseConsumer, topic: &str) -> anyhow::Result<Vec<i32>> {
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT)?;
    Ok(metadata
        .topics()
        .first()
        .map(|t| t.partitions().iter().map(|p| p.id()).collect())
        .unwrap_or_default())
}

/// Prints, per partition of `events.v1`: the group's committed offset and the low
/// and high watermarks, and whether the committed offset lies past the log end.
pub fn offsets(args: &OffsetsArgs) -> anyhow::Result<()> {
    let consumer = consumer(&args.log, &args.group)?;
    let topic = Topics::new(&args.log.topic_prefix).events();
    let mut list = TopicPartitionList::new();
    for partition in partitions(&consumer, &topic)? {
        list.add_partition(&topic, partition);
    }
    let committed = consumer.committed_offsets(list, TIMEOUT)?;
    for element in committed.elements() {
        let (low, high) = consumer.fetch_watermarks(&topic, element.partition(), TIMEOUT)?;
        let committed = match element.offset() {
            Offset::Offset(n) => n,
            _ => -1,
        };
        println!(
            "partition={} committed={committed} low={low} high={high} beyond_log_end={}",
            element.partition(),
            committed > high
        );
    }
    Ok(())
}

/// Reads `events.v1` from the start to the high watermarks and prints the records
/// whose event ids the store does not hold, as `partition:first-last` runs.
pub async fn missing(args: &MissingArgs) -> anyhow::Result<()> {
    let topic = Topics::new(&args.log.topic_prefix).events();
    let consumer = consumer(&args.log, &format!("bench-missing-{}", std::process::id()))?;
    let mut assignment = TopicPartitionList::new();
    for partition in partitions(&consumer, &topic)? {
        let (low, high) = consumer.fetch_watermarks(&topic, partition, TIMEOUT)?;
        if high > low {
            assignment.add_partition_offset(&topic, partition, Offset::Offset(low))?;
        }
    }
    consumer.assign(&assignment)?;
    let mut records: Vec<(i32, i64, String)> = Vec::new();
    read_to_end(&consumer, |message| {
        let id = message
            .payload()
            .and_then(|p| serde_json::from_slice::<InboundEvent>(p).ok())
            .map(|e| e.event_id.to_string())
            .unwrap_or_default();
        records.push((message.partition(), message.offset(), id));
    })?;
    let store = Store::connect(&args.database_url, 2).await?;
    let applied: HashSet<String> = store.processed_event_ids().await?.into_iter().collect();
    let mut runs: Vec<(i32, i64, i64)> = Vec::new();
    records.sort();
    for (partition, offset, id) in &records {
        if applied.contains(id) {
            continue;
        }
        match runs.last_mut() {
            Some((p, _, last)) if *p == *partition && *last + 1 == *offset => *last = *offset,
            _ => runs.push((*partition, *offset, *offset)),
        }
    }
    let missing: i64 = runs.iter().map(|(_, first, last)| last - first + 1).sum();
    let listed: Vec<String> = runs
        .iter()
        .map(|(p, first, last)| format!("{p}:{first}-{last}"))
        .collect();
    println!(
        "records={} applied={} missing={missing} runs={}",
        records.len(),
        records.len() as i64 - missing,
        if listed.is_empty() {
            "-".to_owned()
        } else {
            listed.join(",")
        }
    );
    Ok(())
}

/// Reads what is assigned to `consumer` until nothing more comes for 5 s (at
/// most 120 s). The high watermark is where reading may stop only on a broker
/// that reports the log end: tansu 0.6.0 reports the last batch's base offset + 1
/// (bench/broker-probe.sh).
fn read_to_end(
    consumer: &BaseConsumer,
    mut each: impl FnMut(&rdkafka::message::BorrowedMessage<'_>),
) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut last_record = std::time::Instant::now();
    while std::time::Instant::now() < deadline && last_record.elapsed() < Duration::from_secs(5) {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        last_record = std::time::Instant::now();
        each(&message?);
    }
    Ok(())
}

/// Prints one line per record of the output topics under the prefix: the topic
/// (without the prefix) and the record's `record_id`, sorted, so that two runs of
/// the same events can be compared with `sort | uniq` and `diff`.
pub fn record_ids(log: &LogArgs) -> anyhow::Result<()> {
    let consumer = consumer(log, &format!("bench-record-ids-{}", std::process::id()))?;
    let topics = Topics::new(&log.topic_prefix);
    let mut assignment = TopicPartitionList::new();
    for suffix in OUTPUT_TOPICS {
        let topic = topics.name(suffix);
        for partition in partitions(&consumer, &topic)? {
            assignment.add_partition_offset(&topic, partition, Offset::Beginning)?;
        }
    }
    consumer.assign(&assignment)?;
    let mut lines = Vec::new();
    read_to_end(&consumer, |message| {
        let suffix = message
            .topic()
            .strip_prefix(log.topic_prefix.as_str())
            .unwrap_or(message.topic());
        let id = message
            .payload()
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
            .and_then(|v| {
                v.get("record_id")
                    .and_then(|id| id.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "-".to_owned());
        lines.push(format!("{suffix} {id}"));
    })?;
    lines.sort();
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
