//! Hostile clients for `bench/edge.sh`: a flood of health checks, and slow senders
//! that each announce a large body and stop one byte short, while the server's
//! memory (resident set, from `/proc`) is sampled.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// `graphhook-bench flood`.
#[derive(clap::Args)]
pub struct FloodArgs {
    /// Server address, e.g. 127.0.0.1:9080.
    #[arg(long)]
    pub addr: String,
    /// Path to request, e.g. /readyz.
    #[arg(long, default_value = "/readyz")]
    pub path: String,
    /// Concurrent clients, each sending as fast as it is answered.
    #[arg(long, default_value_t = 50)]
    pub clients: u64,
    /// How long.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

/// GETs `path` from `clients` keep-alive connections for `seconds`; prints how many
/// requests were answered.
pub async fn flood(args: &FloodArgs) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.clients {
        let (addr, path) = (args.addr.clone(), args.path.clone());
        tasks.spawn(async move { hammer(&addr, &path, until).await.unwrap_or(0) });
    }
    let mut answered = 0;
    while let Some(count) = tasks.join_next().await {
        answered += count?;
    }
    println!(
        "flood answered={answered} per_s={:.0}",
        answered as f64 / args.seconds as f64
    );
    Ok(())
}

async fn hammer(addr: &str, path: &str, until: Instant) -> anyhow::Result<u64> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut answered = 0;
    while Instant::now() < until {
        let request = hyper::Request::get(path)
            .header("host", addr)
            .body(Empty::<Bytes>::new())?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        response.into_body().collect().await?;
        answered += 1;
    }
    Ok(answered)
}

/// `graphhook-bench slow-senders`.
#[derive(clap::Args)]
pub struct SlowArgs {
    /// Server address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    pub addr: String,
    /// Request path.
    #[arg(long, default_value = "/webhooks/bench")]
    pub path: String,
    /// The server's process id (its memory is sampled).
    #[arg(long)]
    pub pid: u32,
    /// Senders.
    #[arg(long, default_value_t = 50)]
    pub connections: usize,
    /// Bytes each announces; each sends one fewer.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub bytes: usize,
    /// How long the senders hold their connections at most.
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
}

/// The resident memory of process `pid`, in MiB (0 when unreadable).
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Opens the senders, samples memory while they hold, and prints the resident
/// set before, at its peak and two seconds after the last sender was answered (or
/// gave up), with how the senders were answered.
pub async fn slow_senders(args: &SlowArgs) -> anyhow::Result<()> {
    let before = rss_mib(args.pid);
    let hold = Duration::from_secs(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        let (addr, path, bytes) = (args.addr.clone(), args.path.clone(), args.bytes);
        tasks.spawn(async move { send_slowly(&addr, &path, bytes, hold).await });
    }
    let started = Instant::now();
    let mut peak = before;
    let mut answers = Vec::new();
    while !tasks.is_empty() {
        peak = peak.max(rss_mib(args.pid));
        tokio::select! {
            Some(answer) = tasks.join_next() => answers.push(answer?),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let held_for = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_mib(args.pid);
    let count = |prefix: &str| answers.iter().filter(|a| a.starts_with(prefix)).count();
    println!(
        "slow rss_before_mib={before:.0} rss_peak_mib={peak:.0} rss_after_mib={after:.0} answered_408={} answered_503={} answered_413={} unanswered={} held_s={held_for:.1}",
        count("HTTP/1.1 408"),
        count("HTTP/1.1 503"),
        count("HTTP/1.1 413"),
        answers.iter().filter(|a| !a.starts_with("HTTP/")).count(),
    );
    Ok(())
}

/// Connects to `addr`, announces a body of `bytes` for `path`, sends one byte less
/// and waits for the answer (at most `hold`); returns what the server answered.
pub async fn send_slowly(addr: &str, path: &str, bytes: usize, hold: Duration) -> String {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return String::new();
    };
    let head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {bytes}\r\n\r\n");
    let body = vec![b' '; bytes.saturating_sub(1)];
    let (mut reader, mut writer) = stream.split();
    let write = async {
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&body).await;
        std::future::pending::<()>().await;
    };
    let mut answer = Vec::new();
    let read = reader.read_to_end(&mut answer);
    tokio::select! {
        _ = write => {}
        _ = read => {}
        _ = tokio::time::sleep(hold) => {}
    }
    String::from_utf8_lossy(&answer).into_owned()
}
