//! The ceiling: the same records graphhook writes (built by ingest's own record
//! code), sent by a bare producer with the same configuration, as fast as Kafka
//! acknowledges them.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use graphhook_ingest::records::{for_delivery, Endpoint, OutgoingRecord, TopicKind};
use graphhook_kafka::{producer_config, Bus, KafkaSettings, Topics};
use graphhook_schema::{normalize_delivery, DeliveryContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};

#[derive(clap::Args)]
pub struct Args {
    /// Bootstrap servers.
    #[arg(long)]
    pub brokers: String,
    /// Topic prefix (topics must exist).
    #[arg(long)]
    pub topic_prefix: String,
    /// Deliveries file from `deliveries`.
    #[arg(long)]
    pub deliveries: PathBuf,
    /// How long to send.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Records in flight at most.
    #[arg(long, default_value_t = 20_000)]
    pub in_flight: usize,
    /// Send deliveries' records at this many deliveries per second instead of as
    /// fast as possible, and report the latency from send to acknowledgement of
    /// each delivery's last record (the broker's share of a request's latency).
    #[arg(long)]
    pub rate: Option<u64>,
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let settings = KafkaSettings {
        brokers: args.brokers.clone(),
        produce_deadline_ms: 20_000,
        ..Default::default()
    };
    let producer: FutureProducer = producer_config(&settings, &args.brokers).create()?;
    let topics = Topics::new(&args.topic_prefix);
    let bus = Bus::External(args.brokers.clone());
    bus.ensure_topics(
        &settings,
        &[topics.deliveries(), topics.events()],
        Duration::from_secs(15),
    )
    .await?;
    let (deliveries_topic, events_topic) = (topics.deliveries(), topics.events());
    let records = build_records(&args.deliveries)?;
    if let Some(rate) = args.rate {
        return paced(
            &producer,
            &deliveries_topic,
            &events_topic,
            &records,
            rate,
            args.seconds,
        )
        .await;
    }
    let per_delivery = records.iter().map(Vec::len).sum::<usize>() as f64 / records.len() as f64;

    let mut pending = VecDeque::with_capacity(args.in_flight);
    let started = Instant::now();
    let mut sent = 0u64;
    'send: for delivery in records.iter().cycle() {
        for record in delivery {
            if started.elapsed() >= Duration::from_secs(args.seconds) {
                break 'send;
            }
            let topic = match record.topic {
                TopicKind::Deliveries => &deliveries_topic,
                TopicKind::Events => &events_topic,
            };
            loop {
                let future_record = FutureRecord::to(topic)
                    .key(&record.key)
                    .payload(&record.payload)
                    .headers(record.headers.clone());
                match producer.send_result(future_record) {
                    Ok(delivery) => {
                        pending.push_back(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        await_oldest(&mut pending).await?;
                    }
                    Err((error, _)) => return Err(error.into()),
                }
            }
            sent += 1;
            if pending.len() >= args.in_flight {
                await_oldest(&mut pending).await?;
            }
        }
    }
    while !pending.is_empty() {
        await_oldest(&mut pending).await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = sent as f64 / elapsed;
    println!("bare_producer records={sent} seconds={elapsed:.2} records_per_s={rate:.0} records_per_delivery={per_delivery:.1} deliveries_per_s={:.0}", rate / per_delivery);
    Ok(())
}

/// Sends one delivery's records every 1/rate seconds and measures, per delivery,
/// the time from its scheduled send to the acknowledgement of all its records.
async fn paced(
    producer: &FutureProducer,
    deliveries_topic: &str,
    events_topic: &str,
    records: &[Vec<OutgoingRecord>],
    rate: u64,
    seconds: u64,
) -> anyhow::Result<()> {
    let total = rate * seconds;
    let started = tokio::time::Instant::now();
    let mut waiters = tokio::task::JoinSet::new();
    for n in 0..total {
        let scheduled = started + Duration::from_secs_f64(n as f64 / rate as f64);
        tokio::time::sleep_until(scheduled).await;
        let mut acks = Vec::new();
        for record in &records[n as usize % records.len()] {
            let topic = match record.topic {
                TopicKind::Deliveries => deliveries_topic,
                TopicKind::Events => events_topic,
            };
            let future_record = FutureRecord::to(topic)
                .key(&record.key)
                .payload(&record.payload)
                .headers(record.headers.clone());
            acks.push(
                producer
                    .send_result(future_record)
                    .map_err(|(error, _)| error)?,
            );
        }
        waiters.spawn(async move {
            for ack in acks {
                let _ = ack.await;
            }
            scheduled.elapsed()
        });
    }
    let mut latencies = Vec::with_capacity(total as usize);
    while let Some(latency) = waiters.join_next().await {
        latencies.push(latency?);
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1000.0
    };
    println!(
        "bare_producer_paced deliveries_per_s={rate} deliveries={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

async fn await_oldest(
    pending: &mut VecDeque<rdkafka::producer::DeliveryFuture>,
) -> anyhow::Result<()> {
    if let Some(delivery) = pending.pop_front() {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((error, _))) => return Err(error.into()),
            Err(_) => anyhow::bail!("record canceled"),
        }
    }
    Ok(())
}

fn build_records(path: &std::path::Path) -> anyhow::Result<Vec<Vec<OutgoingRecord>>> {
    crate::deliveries::read(path)?
        .iter()
        .enumerate()
        .map(|(i, (_, body))| delivery_records(i, body))
        .collect()
}

/// The records graphhook writes for one delivery body (fixed app and times).
pub fn delivery_records(index: usize, body: &str) -> anyhow::Result<Vec<OutgoingRecord>> {
    let delivery_id = format!("bench-{index}");
    let ctx = DeliveryContext {
        app: "bench",
        app_id: "1",
        delivery_id: &delivery_id,
        received_at_ms: 1_700_000_000_000,
    };
    let events = normalize_delivery(&ctx, body.as_bytes())?;
    Ok(for_delivery(
        &ctx,
        Endpoint::Webhook,
        true,
        "application/json",
        body.as_bytes(),
        &events,
    ))
}
