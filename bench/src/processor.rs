//! The processor benchmark's measuring half: fill `events.v1` with the realistic
//! mix, time a bare consumer reading it (the baseline), time the processor taking
//! it to committed PostgreSQL state and acknowledged outputs, and read latency
//! percentiles from a Prometheus histogram.

use std::time::{Duration, Instant};

use graphhook_ingest::records::event_record;
use graphhook_kafka::{base_config, producer_config, Bus, KafkaSettings, Topics};
use graphhook_processor::settings::ProcessorSettings;
use graphhook_processor::startup::Processor;
use graphhook_processor::store::Store;
use graphhook_schema::topics::{INGEST_TOPICS, PROCESSOR_TOPICS};
use graphhook_schema::{normalize_delivery, DeliveryContext};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::deliveries::realistic_body;

/// Where the events live.
#[derive(clap::Args)]
pub struct Target {
    /// Bootstrap servers.
    #[arg(long)]
    pub brokers: String,
    /// Topic prefix.
    #[arg(long)]
    pub topic_prefix: String,
    /// Events in `events.v1`.
    #[arg(long, default_value_t = 100_000)]
    pub count: usize,
}

/// `fill-events` arguments.
#[derive(clap::Args)]
pub struct FillArgs {
    #[command(flatten)]
    pub target: Target,
    /// Accounts the events are spread over.
    #[arg(long, default_value_t = 1000)]
    pub accounts: usize,
    /// Events per second (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// With a rate, events are sent in groups of this many, each group at once
    /// (so the producer packs several records into a record batch, as ingest
    /// does for a delivery with several events) and awaited before the next.
    #[arg(long, default_value_t = 1)]
    pub burst: usize,
    /// Do not create the topics (librdkafka's mock cluster cannot; its host does).
    #[arg(long)]
    pub no_create: bool,
}

/// `process` arguments.
#[derive(clap::Args)]
pub struct ProcessArgs {
    #[command(flatten)]
    pub target: Target,
    /// A fresh PostgreSQL database (`postgres://...`).
    #[arg(long)]
    pub database_url: String,
    /// Records per batch.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
}

fn settings(target: &Target) -> KafkaSettings {
    KafkaSettings {
        brokers: target.brokers.clone(),
        topic_prefix: target.topic_prefix.clone(),
        ..Default::default()
    }
}

/// Writes `count` events of the realistic mix to `events.v1`, as ingest would.
pub async fn fill(args: &FillArgs) -> anyhow::Result<()> {
    let kafka = settings(&args.target);
    let topics = Topics::new(&kafka.topic_prefix);
    let names: Vec<String> = INGEST_TOPICS
        .iter()
        .chain(&PROCESSOR_TOPICS)
        .map(|s| topics.name(s))
        .collect();
    if !args.no_create {
        Bus::External(kafka.brokers.clone())
            .ensure_topics(&kafka, &names, Duration::from_secs(15))
            .await?;
    }
    let producer: FutureProducer = producer_config(&kafka, &kafka.brokers).create()?;
    let topic = topics.events();
    let mut pending = Vec::new();
    let started = Instant::now();
    let burst = args.burst.max(1);
    for index in 0..args.target.count {
        if args.rate > 0 && index % burst == 0 {
            let due = started + Duration::from_secs_f64(index as f64 / args.rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let delivery_id = format!("bench-{index}");
        let ctx = DeliveryContext {
            app: "bench",
            app_id: "1",
            delivery_id: &delivery_id,
            received_at_ms: graphhook_schema::time::now_millis(),
        };
        let body = realistic_body(index, args.accounts);
        for event in normalize_delivery(&ctx, body.as_bytes())? {
            let record = event_record(&event)?;
            let future = producer.send_result(
                FutureRecord::to(&topic)
                    .key(&record.key)
                    .payload(&record.payload)
                    .headers(record.headers),
            );
            pending.push(future.map_err(|(e, _)| e)?);
        }
        let group_sent = (index + 1) % burst == 0;
        if pending.len() >= 10_000 || (args.rate > 0 && group_sent && !pending.is_empty()) {
            for ack in pending.drain(..) {
                ack.await?.map_err(|(e, _)| e)?;
            }
        }
    }
    for ack in pending {
        ack.await?.map_err(|(e, _)| e)?;
    }
    println!("filled events={}", args.target.count);
    Ok(())
}

/// A consumer of `kafka`'s broker in a group of its own (`group`), reading from
/// the earliest offsets and committing nothing.
pub fn reader(kafka: &KafkaSettings, group: &str) -> anyhow::Result<StreamConsumer> {
    let mut config = base_config(kafka, &kafka.brokers);
    config
        .set("group.id", format!("{group}-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false");
    Ok(config.create()?)
}

/// The baseline: a bare consumer group member reading every event, doing nothing.
pub async fn drain(target: &Target) -> anyhow::Result<()> {
    let kafka = settings(target);
    let consumer = reader(&kafka, "bench-drain")?;
    consumer.subscribe(&[&Topics::new(&kafka.topic_prefix).events()])?;
    let mut started = None;
    for _ in 0..target.count {
        tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await??;
        started.get_or_insert_with(Instant::now);
    }
    let elapsed = started.map_or(Duration::ZERO, |s| s.elapsed());
    println!(
        "drain records={} seconds={:.2} records_per_s={:.0}",
        target.count,
        elapsed.as_secs_f64(),
        target.count as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// Runs the processor on the filled topic until every event's effects are
/// committed and every output acknowledged; reports events/s from the first
/// committed batch on (group join excluded).
pub async fn process(args: &ProcessArgs) -> anyhow::Result<()> {
    let kafka = settings(&args.target);
    let processor_settings = ProcessorSettings {
        listen: "127.0.0.1:0".parse()?,
        database_url: args.database_url.clone().into(),
        group_id: format!("bench-{}", std::process::id()),
        batch_size: args.batch_size,
        ..Default::default()
    };
    let processor = Processor::build(
        &processor_settings,
        &kafka,
        &kafka.brokers,
        Default::default(),
    )
    .await?;
    let store = Store::connect(&args.database_url, 2).await?;
    let metrics = processor.metrics();
    // Events the processor has taken (applied, repeated or dead-lettered), read
    // from its counters: polling the database would load the server measured.
    let taken = move || -> i64 {
        use prometheus::core::Collector;
        let total: f64 = metrics
            .events
            .collect()
            .iter()
            .flat_map(|family| family.get_metric())
            .map(|metric| metric.get_counter().get_value())
            .sum();
        total as i64
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(processor.run_until_stopped(stopped));
    let target = i64::try_from(args.target.count)?;
    let deadline = Instant::now() + Duration::from_secs(600);
    let (mut first, mut first_count) = (None, 0);
    loop {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the processor did not finish in 600 s"
        );
        let done = taken();
        if first.is_none() && done > 0 {
            first = Some(Instant::now());
            first_count = done;
        }
        if done >= target && store.pending_outbox(1).await?.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = first.map_or(Duration::ZERO, |f| f.elapsed());
    let measured = target - first_count;
    println!(
        "process events={} measured={measured} seconds={:.2} events_per_s={:.0}",
        target,
        elapsed.as_secs_f64(),
        measured as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    let _ = stop.send(true);
    task.await?;
    Ok(())
}

/// Reads `metric`'s histogram from a Prometheus exposition at `url` and prints its
/// count, p50 and p99 (linear interpolation within buckets), in milliseconds. With
/// `before` (an earlier exposition saved to a file), only what was observed since.
pub async fn quantiles(
    url: &str,
    metric: &str,
    before: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let text = http_get(url).await?;
    if let Some(path) = std::env::var_os("GRAPHHOOK_BENCH_SAVE_METRICS") {
        std::fs::write(path, &text)?;
    }
    let mut buckets = histogram_buckets(&text, metric);
    if let Some(path) = before {
        let earlier = histogram_buckets(&std::fs::read_to_string(path)?, metric);
        for ((_, count), (_, old)) in buckets.iter_mut().zip(earlier) {
            *count -= old;
        }
    }
    let count = buckets.last().map_or(0.0, |b| b.1);
    println!(
        "histogram count={count} p50_ms={:.1} p99_ms={:.1}",
        quantile(&buckets, 0.50) * 1000.0,
        quantile(&buckets, 0.99) * 1000.0
    );
    Ok(())
}

/// `(upper bound, cumulative count)` of each bucket, `+Inf` last.
pub fn histogram_buckets(exposition: &str, metric: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{metric}_bucket{{le=\"");
    exposition
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (bound, count) = rest.split_once("\"} ")?;
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().ok()?
            };
            Some((bound, count.trim().parse().ok()?))
        })
        .collect()
}

/// The `q` quantile of cumulative buckets, interpolated linearly within its bucket.
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let Some(total) = buckets.last().map(|b| b.1) else {
        return f64::NAN;
    };
    let rank = q * total;
    let mut previous = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return previous.0;
            }
            let width = count - previous.1;
            let share = if width > 0.0 {
                (rank - previous.1) / width
            } else {
                1.0
            };
            return previous.0 + (bound - previous.0) * share;
        }
        previous = (bound, count);
    }
    previous.0
}

async fn http_get(url: &str) -> anyhow::Result<String> {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    let uri: hyper::Uri = url.parse()?;
    let authority = uri
        .authority()
        .ok_or_else(|| anyhow::anyhow!("no host in {url}"))?
        .to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::get(uri.path())
        .header("host", authority)
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let exposition = "m_bucket{le=\"0.01\"} 50\nm_bucket{le=\"0.02\"} 90\nm_bucket{le=\"0.1\"} 100\nm_bucket{le=\"+Inf\"} 100\n";
        let buckets = histogram_buckets(exposition, "m");
        assert_eq!(buckets.len(), 4);
        assert!((quantile(&buckets, 0.5) - 0.01).abs() < 1e-9);
        assert!((quantile(&buckets, 0.7) - 0.015).abs() < 1e-9);
        assert!((quantile(&buckets, 0.99) - 0.092).abs() < 1e-9);
    }
}
