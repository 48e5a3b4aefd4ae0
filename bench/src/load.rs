//! An open-loop load generator in the manner of wrk2: every connection sends on its
//! own fixed schedule whatever the server does, and latency is measured from each
//! request's scheduled time, so a slow server cannot hide its queueing (no
//! coordinated omission). Raw hyper HTTP/1 connections keep the generator's own CPU
//! cost low on a machine it shares with the server and the broker.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Server address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    pub addr: String,
    /// Request path, e.g. /webhooks/bench.
    #[arg(long)]
    pub path: String,
    /// Deliveries file from `deliveries`.
    #[arg(long)]
    pub deliveries: PathBuf,
    /// Requests per second, over all connections.
    #[arg(long)]
    pub rate: u64,
    /// How long to send.
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
    /// Connections; each sends rate/connections requests per second.
    #[arg(long, default_value_t = 128)]
    pub connections: u64,
}

struct Outcome {
    latencies: Vec<Duration>,
    failures: u64,
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let deliveries: Arc<Vec<(String, Bytes)>> = Arc::new(
        crate::deliveries::read(&args.deliveries)?
            .into_iter()
            .map(|(signature, body)| (signature, Bytes::from(body)))
            .collect(),
    );
    let interval = Duration::from_secs_f64(args.connections as f64 / args.rate as f64);
    let per_connection = args.rate * args.seconds / args.connections;
    let start = Instant::now() + Duration::from_millis(200);
    let mut tasks = tokio::task::JoinSet::new();
    for connection in 0..args.connections {
        let offset = interval.mul_f64(connection as f64 / args.connections as f64);
        let (addr, path, deliveries) = (
            args.addr.clone(),
            args.path.clone(),
            Arc::clone(&deliveries),
        );
        tasks.spawn(async move {
            drive(
                &addr,
                &path,
                &deliveries,
                start + offset,
                interval,
                per_connection,
                connection as usize,
            )
            .await
        });
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    while let Some(outcome) = tasks.join_next().await {
        let outcome = outcome??;
        latencies.extend(outcome.latencies);
        failures += outcome.failures;
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "load target_rate={} achieved_rate={:.0} requests={} failures={failures} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        args.rate,
        latencies.len() as f64 / elapsed,
        latencies.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

async fn drive(
    addr: &str,
    path: &str,
    deliveries: &[(String, Bytes)],
    first: Instant,
    interval: Duration,
    count: u64,
    seed: usize,
) -> anyhow::Result<Outcome> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut outcome = Outcome {
        latencies: Vec::with_capacity(count as usize),
        failures: 0,
    };
    for k in 0..count {
        let scheduled = first + interval.mul_f64(k as f64);
        tokio::time::sleep_until(scheduled).await;
        let (signature, body) = &deliveries[(seed * 7919 + k as usize) % deliveries.len()];
        let request = hyper::Request::post(path)
            .header("host", addr)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature.as_str())
            .body(Full::new(body.clone()))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let ok = response.status() == 200;
        response.into_body().collect().await?;
        outcome.latencies.push(scheduled.elapsed());
        outcome.failures += u64::from(!ok);
    }
    Ok(outcome)
}
