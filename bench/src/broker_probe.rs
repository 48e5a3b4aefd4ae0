//! A minimal reproduction of the broker flaws the processor guards against,
//! run against any broker: three record batches of ten records are written to
//! a fresh topic (one key, so one partition); then a reader assigned at offsets inside and at
//! the start of batches reports the first offset served, and the high
//! watermark is compared with the log end. A broker that serves from the
//! offset asked and reports the log end (Kafka, librdkafka's mock cluster)
//! prints `verdict=sound`; tansu 0.6.0 prints `verdict=skips`.

use std::time::Duration;

use graphhook_kafka::{base_config, producer_config, Bus, KafkaSettings};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Message, Offset, TopicPartitionList};

/// `broker-probe` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Bootstrap servers.
    #[arg(long)]
    pub brokers: String,
    /// An existing, empty topic to write to (librdkafka's mock cluster cannot
    /// create topics; `mock-broker` does); by default a fresh one is created.
    #[arg(long)]
    pub topic: Option<String>,
}

const BATCHES: i64 = 3;
const PER_BATCH: i64 = 10;

/// The first offset served to a reader assigned at `start`, if any within 5 s.
fn first_served(
    kafka: &KafkaSettings,
    (topic, partition): (&str, i32),
    start: i64,
) -> anyhow::Result<Option<i64>> {
    let mut config = base_config(kafka, &kafka.brokers);
    config
        .set("group.id", format!("probe-{start}-{}", std::process::id()))
        .set("enable.auto.commit", "false");
    let reader: BaseConsumer = config.create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, partition, Offset::Offset(start))?;
    reader.assign(&assignment)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if let Some(Ok(message)) = reader.poll(Duration::from_millis(200)) {
            return Ok(Some(message.offset()));
        }
    }
    Ok(None)
}

/// Writes the batches, probes, prints one line per probe and a verdict.
pub async fn run(args: &Args) -> anyhow::Result<()> {
    let kafka = KafkaSettings {
        brokers: args.brokers.clone(),
        ..Default::default()
    };
    let topic = match &args.topic {
        Some(topic) => topic.clone(),
        None => {
            let topic = format!("probe-{}", std::process::id());
            Bus::External(kafka.brokers.clone())
                .ensure_topics(
                    &kafka,
                    std::slice::from_ref(&topic),
                    Duration::from_secs(15),
                )
                .await?;
            topic
        }
    };
    let mut config = producer_config(&kafka, &kafka.brokers);
    config.set("linger.ms", "200");
    let producer: FutureProducer = config.create()?;
    // One key: every record in one partition.
    let mut partition = 0;
    for batch in 0..BATCHES {
        let values: Vec<String> = (0..PER_BATCH)
            .map(|n| format!("batch-{batch}-record-{n}"))
            .collect();
        let sends: Vec<_> = values
            .iter()
            .map(|value| {
                producer
                    .send_result(FutureRecord::to(&topic).key("k").payload(value))
                    .map_err(|(error, _)| error)
            })
            .collect::<Result<_, _>>()?;
        for sent in sends {
            partition = sent.await?.map_err(|(error, _)| error)?.partition;
        }
    }
    let mut sound = true;
    for start in [0, 3, 6, 10, 15, 25] {
        let first = first_served(&kafka, (&topic, partition), start)?;
        sound &= first == Some(start);
        println!(
            "fetch from offset {start}: first served {}",
            first.map_or("none".to_owned(), |o| o.to_string())
        );
    }
    let reader: BaseConsumer = base_config(&kafka, &kafka.brokers).create()?;
    let (low, high) =
        reader.fetch_watermarks(&topic, partition, Timeout::After(Duration::from_secs(5)))?;
    let log_end = BATCHES * PER_BATCH;
    sound &= high == log_end;
    println!("watermarks low={low} high={high}; log end {log_end}");
    println!("verdict={}", if sound { "sound" } else { "skips" });
    Ok(())
}
