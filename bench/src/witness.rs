//! The chaos suite's witness (`bench/chaos.sh`): it sends signed deliveries,
//! each with an id of its own, and writes down how each was answered; afterwards
//! it reads `deliveries.v1` and `events.v1` to their ends and checks that every
//! delivery answered `200` is there with its event, whatever was killed in
//! between.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use graphhook_ingest::signature::sign_sha256;
use graphhook_kafka::{KafkaSettings, Topics};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rdkafka::consumer::Consumer;
use rdkafka::Message;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Where deliveries go: ingest's public listener and the app they are for.
#[derive(clap::Args)]
pub struct Listener {
    /// The public listener, e.g. 127.0.0.1:8080.
    #[arg(long)]
    pub addr: String,
    /// The app's route name.
    #[arg(long, default_value = "bench")]
    pub app: String,
    /// The app's secret.
    #[arg(long)]
    pub secret: String,
}

/// `graphhook-bench witness`.
#[derive(clap::Args)]
pub struct SendArgs {
    /// Ingest and the app.
    #[command(flatten)]
    pub to: Listener,
    /// Deliveries per second, over all connections.
    #[arg(long, default_value_t = 500)]
    pub rate: u64,
    /// How long to send.
    #[arg(long)]
    pub seconds: u64,
    /// Connections.
    #[arg(long, default_value_t = 16)]
    pub connections: u64,
    /// Where to write `index status latency_ms retry_after` lines.
    #[arg(long)]
    pub out: PathBuf,
    /// A request unanswered after this long counts as hung (status 0).
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
    /// Ids start here (so that several runs on one topic never share one).
    #[arg(long, default_value_t = 0)]
    pub first: usize,
}

/// `graphhook-bench stored`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Bootstrap servers.
    #[arg(long)]
    pub brokers: String,
    /// Topic prefix of the run.
    #[arg(long)]
    pub topic_prefix: String,
    /// The answers `witness` wrote (several files: one per run).
    #[arg(long, required = true)]
    pub answers: Vec<PathBuf>,
    /// The produce deadline plus a margin: an answer slower than this is counted.
    #[arg(long, default_value_t = 5_000)]
    pub slow_ms: u64,
}

/// The body of delivery `index`: a comment whose id names it.
pub fn body(index: usize) -> String {
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"17841400000{:05}","time":1700000000,"changes":[{{"field":"comments","value":{{"id":"w{index}","text":"witness","media":{{"id":"m{}"}}}}}}]}}]}}"#,
        index % 100,
        index % 1_000
    )
}

/// Sends deliveries at `rate` until `seconds` have passed; every answer (or its
/// absence: status 0) is written down.
pub async fn send(args: &SendArgs) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(args.first));
    let until = Instant::now() + Duration::from_secs(args.seconds);
    let interval = Duration::from_secs_f64(args.connections as f64 / args.rate.max(1) as f64);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        let (addr, path, secret) = (
            args.to.addr.clone(),
            format!("/webhooks/{}", args.to.app),
            args.to.secret.clone(),
        );
        let (next, timeout) = (Arc::clone(&next), Duration::from_secs(args.timeout_secs));
        tasks.spawn(async move {
            let mut lines = Vec::new();
            let mut sender = None;
            let mut due = Instant::now();
            while Instant::now() < until {
                tokio::time::sleep_until(due).await;
                due += interval;
                let index = next.fetch_add(1, Ordering::Relaxed);
                let body = body(index);
                let signature = sign_sha256(secret.as_bytes(), body.as_bytes());
                let started = Instant::now();
                let answer = tokio::time::timeout(
                    timeout,
                    post(&mut sender, &addr, &path, &signature, body),
                )
                .await
                .unwrap_or(None);
                if answer.is_none() {
                    sender = None;
                }
                let (status, retry_after) = answer.unwrap_or((0, false));
                lines.push(format!(
                    "{index} {status} {} {}",
                    started.elapsed().as_millis(),
                    u8::from(retry_after)
                ));
            }
            lines
        });
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(&args.out)?);
    let mut sent = 0;
    while let Some(lines) = tasks.join_next().await {
        for line in lines? {
            writeln!(file, "{line}")?;
            sent += 1;
        }
    }
    file.flush()?;
    println!("witness sent={sent}");
    Ok(())
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// One POST on the connection (opened if there is none): status and whether
/// `Retry-After` came with it; `None` when no answer came.
async fn post(
    sender: &mut Option<Sender>,
    addr: &str,
    path: &str,
    signature: &str,
    body: String,
) -> Option<(u16, bool)> {
    if sender.is_none() {
        let stream = TcpStream::connect(addr).await.ok()?;
        let (s, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(connection);
        *sender = Some(s);
    }
    let s = sender.as_mut()?;
    let request = hyper::Request::post(path)
        .header("host", addr)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(Full::new(Bytes::from(body)))
        .ok()?;
    s.ready().await.ok()?;
    let response = s.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    response.into_body().collect().await.ok()?;
    Some((status, retry_after))
}

/// Reads `deliveries.v1` to its end (nothing more for 10 s) and compares it with
/// the answers; fails when a delivery answered `200` is missing.
pub async fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let mut answered = HashSet::new();
    let (mut total, mut refused, mut refused_without_retry, mut unanswered, mut slow) =
        (0, 0, 0, 0, 0);
    for path in &args.answers {
        for line in std::fs::read_to_string(path)?.lines() {
            let fields: Vec<u64> = line.split(' ').filter_map(|f| f.parse().ok()).collect();
            let [index, status, latency_ms, retry_after] = fields[..] else {
                anyhow::bail!("{}: not an answer line: {line}", path.display());
            };
            total += 1;
            match status {
                200 => {
                    answered.insert(format!("w{index}"));
                }
                0 => unanswered += 1,
                _ => {
                    refused += 1;
                    if status == 503 && retry_after == 0 {
                        refused_without_retry += 1;
                    }
                }
            }
            if latency_ms > args.slow_ms {
                slow += 1;
            }
        }
    }
    let kafka = KafkaSettings {
        brokers: args.brokers.clone(),
        topic_prefix: args.topic_prefix.clone(),
        ..Default::default()
    };
    // Every partition assigned from its beginning, no group: a broker just
    // restarted may take long to form one.
    let consumer = crate::processor::reader(&kafka, "bench-witness")?;
    let topics = Topics::new(&kafka.topic_prefix);
    let (topic, events_topic) = (topics.deliveries(), topics.events());
    let mut partitions = rdkafka::TopicPartitionList::new();
    for name in [&topic, &events_topic] {
        let metadata = consumer.fetch_metadata(Some(name), Duration::from_secs(30))?;
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            partitions.add_partition_offset(name, partition.id(), rdkafka::Offset::Beginning)?;
        }
    }
    consumer.assign(&partitions)?;
    // Witness ids found on deliveries.v1, and in the events of events.v1.
    let (mut stored, mut with_events) = (HashSet::new(), HashSet::new());
    let mut records = 0;
    // The first record may take a while on a restarted broker; then the log's
    // end is where nothing more comes for 10 s.
    let mut wait = Duration::from_secs(60);
    while let Ok(message) = tokio::time::timeout(wait, consumer.recv()).await {
        wait = Duration::from_secs(10);
        let message = message?;
        let payload = String::from_utf8_lossy(message.payload().unwrap_or_default());
        let Some(id) = payload
            .split(r#""id":"w"#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        if message.topic() == topic {
            records += 1;
            stored.insert(format!("w{id}"));
        } else {
            with_events.insert(format!("w{id}"));
        }
    }
    let events_missing = answered.difference(&with_events).count();
    let missing: Vec<&String> = answered.difference(&stored).collect();
    anyhow::ensure!(
        partitions.count() > 0,
        "{topic} has no partitions on this broker"
    );
    println!(
        "stored sent={total} answered_200={} refused={refused} refused_503_without_retry_after={refused_without_retry} unanswered={unanswered} slower_than_{}ms={slow} records={records} distinct_stored={} stored_without_200={} missing_200={} events_missing_200={events_missing}",
        answered.len(),
        args.slow_ms,
        stored.len(),
        stored.difference(&answered).count(),
        missing.len()
    );
    anyhow::ensure!(
        missing.is_empty(),
        "deliveries answered 200 but not in deliveries.v1: {:?}",
        missing.iter().take(20).collect::<Vec<_>>()
    );
    anyhow::ensure!(
        events_missing == 0,
        "{events_missing} deliveries answered 200 have no event in events.v1"
    );
    Ok(())
}
