//! Hostile input at the public listener (`bench/hostile.sh`): mutated signatures
//! and bodies by the million, slow headers, bodies at, over and without their
//! `Content-Length`, idle connections by the ten thousand, invalid UTF-8, deep
//! nesting, a 100,000-item `entry` and a 200,000-element change value. Each case
//! prints how it was answered and ingest's resident memory before and after;
//! the run fails when a delivery that should be refused was accepted or a
//! genuine one was not.

use std::collections::BTreeMap;
use std::time::Duration;

use graphhook_ingest::signature::{sign_sha1, sign_sha256};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::edge::rss_mib;
use crate::witness::Listener;

/// `graphhook-bench hostile`.
#[derive(clap::Args)]
pub struct Args {
    /// Ingest and the app.
    #[command(flatten)]
    pub to: Listener,
    /// Ingest's process id (its memory is read from `/proc`).
    #[arg(long)]
    pub pid: u32,
    /// Mutated deliveries to send.
    #[arg(long, default_value_t = 1_000_000)]
    pub mutations: usize,
    /// Keep-alive connections sending them.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Idle connections to open.
    #[arg(long, default_value_t = 10_000)]
    pub idle: usize,
    /// Ingest's `ingest.max_body_bytes`.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
}

/// What one case saw.
#[derive(Default)]
struct Tally {
    answers: BTreeMap<String, usize>,
    wrongly_accepted: usize,
    genuine_refused: usize,
}

impl Tally {
    fn add(&mut self, answer: &str) {
        *self.answers.entry(answer.to_owned()).or_default() += 1;
    }

    fn line(&self) -> String {
        let answers: Vec<String> = self
            .answers
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        format!(
            "answers={} wrongly_accepted={} genuine_refused={}",
            answers.join(","),
            self.wrongly_accepted,
            self.genuine_refused
        )
    }
}

fn comment(index: usize) -> String {
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"1784140000{:06}","time":1700000000,"changes":[{{"field":"comments","value":{{"id":"c{index}","text":"h\u00e9 \/ {index}","media":{{"id":"m{}"}}}}}}]}}]}}"#,
        index % 1_000,
        index % 97
    )
}

/// The `index`-th mutation of a genuine delivery: `(signature header, value,
/// body)`. Every seventh request is left genuine, as a control.
fn mutated(secret: &str, index: usize) -> (&'static str, String, Vec<u8>, bool) {
    let body = comment(index).into_bytes();
    let truth = sign_sha256(secret.as_bytes(), &body);
    let spot = index.wrapping_mul(2_654_435_761) % body.len();
    let header = "x-hub-signature-256";
    match index % 8 {
        0 => {
            // One hex digit of the MAC changed (to another digit, either case).
            let mut value = truth.into_bytes();
            let at = 7 + index.wrapping_mul(40_503) % 64;
            value[at] = if value[at] == b'0' { b'1' } else { b'0' };
            (
                header,
                String::from_utf8_lossy(&value).into_owned(),
                body,
                false,
            )
        }
        1 => {
            let mut body = body;
            body[spot] ^= 1 << (index % 8);
            (header, truth, body, false)
        }
        2 => {
            let cut = body.len() - 1 - index % 40;
            (header, truth, body[..cut].to_vec(), false)
        }
        3 => (header, truth, body.to_ascii_uppercase(), false),
        4 => {
            let other = sign_sha256(b"another-apps-secret", &body);
            (header, other, body, false)
        }
        5 => {
            // A header replayed from another delivery.
            let replayed = sign_sha256(secret.as_bytes(), comment(index + 1).as_bytes());
            (header, replayed, body, false)
        }
        6 => {
            let legacy = sign_sha1(secret.as_bytes(), &body);
            ("x-hub-signature", legacy, body, false)
        }
        _ => (header, truth, body, true),
    }
}

async fn mutations(args: &Args) -> anyhow::Result<Tally> {
    let per_connection = args.mutations.div_ceil(args.connections);
    let mut tasks = tokio::task::JoinSet::new();
    for connection in 0..args.connections {
        let (addr, path, secret) = (
            args.to.addr.clone(),
            format!("/webhooks/{}", args.to.app),
            args.to.secret.clone(),
        );
        let range =
            connection * per_connection..((connection + 1) * per_connection).min(args.mutations);
        tasks.spawn(async move {
            let mut tally = Tally::default();
            let mut sender = None;
            for index in range {
                let (name, value, body, genuine) = mutated(&secret, index);
                if sender.is_none() {
                    let stream = TcpStream::connect(&addr).await?;
                    let (s, connection) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                    tokio::spawn(connection);
                    sender = Some(s);
                }
                let Some(s) = sender.as_mut() else { continue };
                let request = hyper::Request::post(path.as_str())
                    .header("host", addr.as_str())
                    .header("content-type", "application/json")
                    .header(name, value)
                    .body(Full::new(Bytes::from(body)))?;
                let status = match s.ready().await {
                    Ok(()) => match s.send_request(request).await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            response.into_body().collect().await?;
                            status
                        }
                        Err(_) => 0,
                    },
                    Err(_) => 0,
                };
                if status == 0 {
                    sender = None; // the server closed it: a new connection
                }
                tally.add(&format!(
                    "{}{status}",
                    if genuine { "genuine_" } else { "" }
                ));
                match (genuine, status) {
                    (false, 200..=299) => tally.wrongly_accepted += 1,
                    (true, status) if status != 200 => tally.genuine_refused += 1,
                    _ => {}
                }
            }
            anyhow::Ok(tally)
        });
    }
    let mut total = Tally::default();
    while let Some(tally) = tasks.join_next().await {
        let tally = tally??;
        for (answer, count) in tally.answers {
            *total.answers.entry(answer).or_default() += count;
        }
        total.wrongly_accepted += tally.wrongly_accepted;
        total.genuine_refused += tally.genuine_refused;
    }
    Ok(total)
}

/// Sends `request` raw on a new connection and returns the answer's status line
/// (or `closed` / `timeout`), reading at most `within`.
async fn raw(addr: &str, request: &[u8], within: Duration) -> String {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return "refused".to_owned();
    };
    if stream.write_all(request).await.is_err() {
        return "reset".to_owned();
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return status_line(&answer).unwrap_or_else(|| "timeout".to_owned()),
            Ok(Ok(0)) | Ok(Err(_)) => {
                return status_line(&answer).unwrap_or_else(|| "closed".to_owned())
            }
            Ok(Ok(n)) => {
                answer.extend_from_slice(&chunk[..n]);
                if let Some(line) = status_line(&answer) {
                    return line;
                }
            }
        }
    }
}

fn status_line(answer: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(answer);
    let line = text.lines().next()?;
    line.starts_with("HTTP/1.1 ")
        .then(|| line.get(9..12).unwrap_or("?").to_owned())
}

fn post(args: &Args, body: &[u8], signature: &str, framing: &str) -> Vec<u8> {
    let mut request = format!(
        "POST /webhooks/{} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-Hub-Signature-256: {signature}\r\n{framing}\r\n",
        args.to.app, args.to.addr
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn signed(args: &Args, body: &[u8]) -> String {
    sign_sha256(args.to.secret.as_bytes(), body)
}

/// A signed body sent whole with its length: the status it got.
async fn signed_post(args: &Args, body: &[u8]) -> String {
    let framing = format!("Content-Length: {}\r\n", body.len());
    raw(
        &args.to.addr,
        &post(args, body, &signed(args, body), &framing),
        Duration::from_secs(30),
    )
    .await
}

/// A signed body sent in chunks, without a length: the status it got.
async fn chunked_post(args: &Args, body: &[u8]) -> String {
    let framing = "Transfer-Encoding: chunked\r\n";
    let request = post(args, &chunked(body), &signed(args, body), framing);
    raw(&args.to.addr, &request, Duration::from_secs(10)).await
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// The framing and content cases: `(case, answer, expected answers)`.
async fn bodies(args: &Args) -> Vec<(String, String, &'static [&'static str])> {
    let mut cases = Vec::new();
    let padded = |size: usize| {
        let head = br#"{"object":"instagram","entry":[],"pad":""#;
        let mut body = head.to_vec();
        body.resize(size - 2, b'x');
        body.extend_from_slice(b"\"}");
        body
    };
    let at_limit = padded(args.max_body_bytes);
    cases.push((
        "body_at_limit",
        signed_post(args, &at_limit).await,
        &["200"][..],
    ));
    let over = padded(args.max_body_bytes + 1);
    cases.push((
        "body_over_limit",
        signed_post(args, &over).await,
        &["413"][..],
    ));
    let genuine = comment(7).into_bytes();
    cases.push((
        "chunked_without_length",
        chunked_post(args, &genuine).await,
        &["200"][..],
    ));
    cases.push((
        "chunked_over_limit",
        chunked_post(args, &over).await,
        &["413"][..],
    ));
    let framing = format!("Content-Length: {}\r\n", genuine.len() + 100);
    let request = post(args, &genuine, &signed(args, &genuine), &framing);
    cases.push((
        "length_beyond_body",
        raw(&args.to.addr, &request, Duration::from_secs(30)).await,
        &["408", "400", "closed"][..],
    ));
    let framing = format!("Content-Length: {}\r\n", genuine.len() - 10);
    let request = post(args, &genuine, &signed(args, &genuine), &framing);
    cases.push((
        "length_short_of_body",
        raw(&args.to.addr, &request, Duration::from_secs(10)).await,
        &["401"][..],
    ));
    let request = post(args, &genuine, &signed(args, &genuine), "");
    cases.push((
        "no_length_no_chunks",
        raw(&args.to.addr, &request, Duration::from_secs(10)).await,
        &["401", "400", "411"][..],
    ));
    let mut invalid = comment(8).into_bytes();
    invalid.splice(40..40, [0xff, 0xfe, 0xc3]);
    cases.push((
        "invalid_utf8",
        signed_post(args, &invalid).await,
        &["200"][..],
    ));
    let deep = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
    cases.push((
        "nested_100000_deep",
        signed_post(args, &deep).await,
        &["200"][..],
    ));
    let items = vec![r#"{"id":"1784140","time":1}"#; 100_000].join(",");
    let wide = format!(r#"{{"object":"instagram","entry":[{items}]}}"#).into_bytes();
    cases.push((
        "entry_of_100000",
        signed_post(args, &wide).await,
        &["200", "413"][..],
    ));
    let array = vec!["1"; 200_000].join(",");
    let value = format!(
        r#"{{"object":"instagram","entry":[{{"id":"17841400000001","changes":[{{"field":"comments","value":[{array}]}}]}}]}}"#
    )
    .into_bytes();
    cases.push((
        "change_value_array_200000",
        signed_post(args, &value).await,
        &["200"][..],
    ));
    cases
        .into_iter()
        .map(|(case, answer, expected)| (case.to_owned(), answer, expected))
        .collect()
}

/// Connections that send their headers a byte at a time: when the server gave
/// up on each (seconds) and how.
async fn slow_headers(args: &Args, connections: usize) -> (Tally, f64) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (addr, app) = (args.to.addr.clone(), args.to.app.clone());
        tasks.spawn(async move {
            let started = Instant::now();
            let Ok(mut stream) = TcpStream::connect(&addr).await else {
                return ("refused".to_owned(), 0.0);
            };
            let head = format!("POST /webhooks/{app} HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
            let _ = stream.write_all(head.as_bytes()).await;
            let mut answer = Vec::new();
            let mut buffer = [0u8; 1024];
            while started.elapsed() < Duration::from_secs(60) {
                if stream.write_all(b"a").await.is_err() {
                    break;
                }
                match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer))
                    .await
                {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
                    Err(_) => {}
                }
            }
            let status = status_line(&answer).unwrap_or_else(|| "closed".to_owned());
            (status, started.elapsed().as_secs_f64())
        });
    }
    let mut tally = Tally::default();
    let mut longest = 0.0f64;
    while let Some(Ok((status, seconds))) = tasks.join_next().await {
        tally.add(&status);
        longest = longest.max(seconds);
    }
    (tally, longest)
}

/// Opens `count` connections that send nothing; meanwhile a genuine delivery is
/// posted. Returns its answer, how many idle connections the server answered
/// (`408`) or closed within 30 s, and the memory they held.
async fn idle(args: &Args) -> (String, usize, usize, f64) {
    let mut streams = Vec::with_capacity(args.idle);
    for _ in 0..args.idle {
        match TcpStream::connect(&args.to.addr).await {
            Ok(stream) => streams.push(stream),
            Err(_) => break,
        }
    }
    let held = rss_mib(args.pid);
    let genuine = comment(9).into_bytes();
    let answer = signed_post(args, &genuine).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut closed = 0;
    for stream in &mut streams {
        // The server's 408 or its close, whichever this reads first.
        let mut byte = [0u8; 1];
        if tokio::time::timeout_at(deadline, stream.read(&mut byte))
            .await
            .is_ok()
        {
            closed += 1;
        }
    }
    (answer, streams.len(), closed, held)
}

/// Runs every case and prints a line each; fails when a refusal or an
/// acceptance went the wrong way.
pub async fn run(args: &Args) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    let started = Instant::now();
    let before = rss_mib(args.pid);
    let tally = mutations(args).await?;
    println!(
        "case=mutations sent={} {} per_s={:.0} rss_before_mib={before:.0} rss_after_mib={:.0}",
        args.mutations,
        tally.line(),
        args.mutations as f64 / started.elapsed().as_secs_f64(),
        rss_mib(args.pid)
    );
    if tally.wrongly_accepted > 0 || tally.genuine_refused > 0 {
        failed.push("mutations");
    }
    for (case, answer, expected) in bodies(args).await {
        println!(
            "case={case} answer={answer} expected={} rss_after_mib={:.0}",
            expected.join("|"),
            rss_mib(args.pid)
        );
        if !expected.contains(&answer.as_str()) {
            failed.push("bodies");
        }
    }
    let before = rss_mib(args.pid);
    let (tally, longest) = slow_headers(args, 200).await;
    println!(
        "case=slow_headers connections=200 {} cut_within_s={longest:.1} rss_before_mib={before:.0} rss_after_mib={:.0}",
        tally.line(),
        rss_mib(args.pid)
    );
    if longest >= 60.0 {
        failed.push("slow_headers");
    }
    let before = rss_mib(args.pid);
    let (answer, opened, closed, held) = idle(args).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "case=idle_connections asked={} opened={opened} genuine_answer={answer} answered_or_closed_by_server_within_30s={closed} rss_before_mib={before:.0} rss_held_mib={held:.0} rss_after_mib={:.0}",
        args.idle,
        rss_mib(args.pid)
    );
    if answer != "200" || closed < opened {
        failed.push("idle_connections");
    }
    anyhow::ensure!(
        failed.is_empty(),
        "cases that went wrong: {}",
        failed.join(", ")
    );
    Ok(())
}
