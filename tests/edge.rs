//! The real binary at the edge: memory under slow senders, draining on SIGTERM,
//! request logs an operator can use (client, user agent, never a query string,
//! never ERROR for outside input), and the start-up line.

mod common;

use std::time::{Duration, Instant};

use common::{spawn, Running, SECRET, VERIFY_TOKEN};
use graphhook_bench::edge::{rss_mib, send_slowly};
use graphhook_ingest::signature::sign_sha256;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODY: &str = r#"{"object":"instagram","entry":[{"id":"1784","time":1700000000,"changes":[{"field":"mentions","value":{"media_id":"1"}}]}]}"#;
const ADMIN: &str = "edge-Admin-token-0123456789abcdef-XYZ";

fn prefix() -> String {
    format!("edge-{}.", uuid::Uuid::new_v4().simple())
}

async fn signed_post(client: &reqwest::Client, port: u16) -> reqwest::StatusCode {
    client
        .post(format!("http://127.0.0.1:{port}/webhooks/main"))
        .header(
            "X-Hub-Signature-256",
            sign_sha256(SECRET.as_bytes(), BODY.as_bytes()),
        )
        .body(BODY)
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or(reqwest::StatusCode::BAD_GATEWAY)
}

async fn ready(client: &reqwest::Client, ops: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("http://127.0.0.1:{ops}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_senders_cannot_grow_memory_and_lose_their_connection_at_the_deadline() {
    let mut running = spawn(
        &prefix(),
        &[
            ("GRAPHHOOK_INGEST__BODY_TIMEOUT_MS", "3000".into()),
            ("GRAPHHOOK_LOG__LEVEL", "info".into()),
        ],
    );
    let ports = running.ports();
    let client = reqwest::Client::new();
    ready(&client, ports.ingest_ops).await;
    assert_eq!(signed_post(&client, ports.ingest).await, 200);
    let before = rss_mib(running.pid());

    let started = Instant::now();
    let senders: Vec<_> = (0..50)
        .map(|_| {
            let addr = format!("127.0.0.1:{}", ports.ingest);
            tokio::spawn(async move {
                send_slowly(
                    &addr,
                    "/webhooks/main",
                    4 * 1024 * 1024,
                    Duration::from_secs(20),
                )
                .await
            })
        })
        .collect();
    let mut peak = before;
    while started.elapsed() < Duration::from_millis(2500) {
        peak = peak.max(rss_mib(running.pid()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = signed_post(&client, ports.ingest).await;
    assert!(
        during == 200 || during == 503,
        "a delivery during the attack is stored or refused for a retry: {during}"
    );
    let mut answers = Vec::new();
    for sender in senders {
        let answer = tokio::time::timeout(Duration::from_secs(10), sender)
            .await
            .expect("every slow sender is answered")
            .expect("sender task");
        answers.push(answer);
    }
    let cut = started.elapsed();
    let timed_out = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 408"))
        .count();
    let busy = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 503"))
        .count();
    assert_eq!(timed_out + busy, 50, "{answers:?}");
    assert!(timed_out > 0 && busy > 0, "408: {timed_out}, 503: {busy}");
    assert!(cut < Duration::from_secs(9), "answered by {cut:?}");
    assert_eq!(signed_post(&client, ports.ingest).await, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_mib(running.pid());
    println!("rss before {before:.0} MiB, peak {peak:.0} MiB, after {after:.0} MiB; 408 {timed_out}, 503 {busy}");
    assert!(
        peak - before < 100.0,
        "50 senders of 4 MiB held {:.0} MiB (budget 32 MiB)",
        peak - before
    );
    assert!(
        after < before + 48.0,
        "memory was not given back: {before:.0} MiB before, {after:.0} MiB after"
    );
    let (exit, _) = running.stop().await;
    assert!(exit.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_readiness_first_then_closes_and_finishes_requests_in_flight() {
    let mut running = spawn(
        &prefix(),
        &[
            ("GRAPHHOOK_INGEST__DRAIN_SECS", "3".into()),
            ("GRAPHHOOK_LOG__LEVEL", "info".into()),
        ],
    );
    let ports = running.ports();
    let client = reqwest::Client::new();
    ready(&client, ports.ingest_ops).await;

    let signature = sign_sha256(SECRET.as_bytes(), BODY.as_bytes());
    let mut in_flight = TcpStream::connect(("127.0.0.1", ports.ingest))
        .await
        .unwrap();
    let head = format!(
        "POST /webhooks/main HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        BODY.len()
    );
    in_flight.write_all(head.as_bytes()).await.unwrap();
    in_flight.write_all(&BODY.as_bytes()[..10]).await.unwrap();

    let terminated = Instant::now();
    running.terminate();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        // A probe that cannot connect tries again at its next period, as a
        // load balancer's does; only the answer is under test.
        let response = match client
            .get(format!("http://127.0.0.1:{}/readyz", ports.ingest_ops))
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                assert!(Instant::now() < deadline, "/readyz unreachable: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if response.status() == 503 {
            let problem: Value = response.json().await.unwrap();
            assert!(
                problem["detail"].as_str().unwrap().contains("draining")
                    || problem["status"] == 503
            );
            break;
        }
        assert!(Instant::now() < deadline, "/readyz still 200 after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        signed_post(&client, ports.ingest).await,
        200,
        "deliveries are still served while draining"
    );
    while TcpStream::connect(("127.0.0.1", ports.ingest))
        .await
        .is_ok()
    {
        assert!(
            terminated.elapsed() < Duration::from_secs(8),
            "the listener never closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        terminated.elapsed() >= Duration::from_millis(2900),
        "the listener closed after {:?}, before the drain period",
        terminated.elapsed()
    );
    in_flight.write_all(&BODY.as_bytes()[10..]).await.unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let (exit, seen) = running.wait().await;
    assert!(exit.success(), "{exit:?}");
    assert!(seen.iter().any(|l| l.contains("draining")));
}

async fn raw(port: u16, request: &[u8]) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return String::new();
    };
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn json_lines(seen: &[String]) -> Vec<Value> {
    seen.iter()
        .map(|line| serde_json::from_str(line).expect("JSON log line"))
        .collect()
}

async fn exercise(running: &mut Running) {
    let ports = running.ports();
    let client = reqwest::Client::new();
    ready(&client, ports.ingest_ops).await;
    let handshake = client
        .get(format!(
            "http://127.0.0.1:{}/webhooks/main?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=31",
            ports.ingest
        ))
        .header("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
        .header("User-Agent", "facebookexternalua")
        .send()
        .await
        .unwrap();
    assert_eq!(handshake.status(), 200);
    assert_eq!(signed_post(&client, ports.ingest).await, 200);
    let leaked = client
        .get(format!(
            "http://127.0.0.1:{}/v1/apps/42/accounts?access_token={ADMIN}",
            ports.processor_ops
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(leaked.status(), 401);
    for _ in 0..60 {
        let forged = client
            .post(format!("http://127.0.0.1:{}/webhooks/main", ports.ingest))
            .header(
                "X-Hub-Signature-256",
                sign_sha256(b"forged", BODY.as_bytes()),
            )
            .body(BODY)
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401);
    }
    let huge_header = format!(
        "GET /webhooks/main HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    for request in [
        b"GARBAGE\r\n\r\n".as_slice(),
        b"BREW /webhooks/main HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /webhooks/main HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /webhooks/main HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /nowhere/\x01\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        huge_header.as_bytes(),
    ] {
        for port in [ports.ingest, ports.ingest_ops, ports.processor, ports.processor_ops] {
            raw(port, request).await;
        }
    }
    for port in [ports.ingest, ports.processor] {
        let missing = client
            .get(format!("http://127.0.0.1:{port}/wp-login.php?pwd=x"))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn request_lines_name_the_client_never_a_query_string_and_outside_input_is_never_an_error() {
    let mut running = spawn(
        &prefix(),
        &[
            ("GRAPHHOOK_LOG__LEVEL", "info".into()),
            ("GRAPHHOOK_LOG__TRUSTED_PROXIES", r#"["127.0.0.1"]"#.into()),
            ("GRAPHHOOK_PROCESSOR__ADMIN_TOKEN", ADMIN.into()),
        ],
    );
    exercise(&mut running).await;
    let (exit, seen) = running.stop().await;
    assert!(exit.success());
    let whole = seen.join("\n");
    for secret in [
        VERIFY_TOKEN,
        ADMIN,
        SECRET,
        "hub.verify_token",
        "access_token",
        "pwd=",
    ] {
        assert!(!whole.contains(secret), "{secret:?} logged");
    }
    let logs = json_lines(&seen);
    let errors: Vec<&Value> = logs.iter().filter(|l| l["level"] == "ERROR").collect();
    assert!(
        errors.is_empty(),
        "outside input logged as ERROR: {errors:?}"
    );

    let request_lines: Vec<&Value> = logs.iter().filter(|l| l["message"] == "request").collect();
    let handshake = request_lines
        .iter()
        .find(|l| l["http.route"] == "/webhooks/{app}" && l["span"]["http.method"] == "GET")
        .expect("the handshake's request line");
    assert_eq!(handshake["client"], "203.0.113.7", "{handshake}");
    assert_eq!(handshake["peer"], "127.0.0.1");
    assert_eq!(handshake["user_agent"], "facebookexternalua");
    assert_eq!(handshake["http.status_code"], 200);
    assert_eq!(handshake["level"], "INFO");
    assert!(handshake["span"]["request_id"]
        .as_str()
        .is_some_and(|id| id.len() == 36));

    let refused: Vec<&&Value> = request_lines
        .iter()
        .filter(|l| l["http.status_code"] == 401 && l["http.route"] == "/webhooks/{app}")
        .collect();
    assert!(
        !refused.is_empty() && refused.len() <= 20,
        "60 refusals wrote {} lines",
        refused.len()
    );
    assert!(refused.iter().all(|l| l["level"] == "WARN"));
    assert!(refused[0]["error"]
        .as_str()
        .is_some_and(|e| e.contains("signature")));
    let not_found = request_lines
        .iter()
        .find(|l| l["http.status_code"] == 404)
        .expect("a 404 line");
    assert_eq!(not_found["level"], "INFO");

    let starting = logs
        .iter()
        .find(|l| l["message"] == "graphhook starting")
        .expect("start-up line");
    assert_eq!(starting["version"], env!("CARGO_PKG_VERSION"));
    let config: Value =
        serde_json::from_str(starting["config"].as_str().expect("config")).expect("JSON config");
    assert_eq!(
        config["apps"]["main"]["secrets"],
        serde_json::json!(["<secret>", "<secret>"])
    );
    assert_eq!(
        config["processor"]["admin_token"],
        serde_json::json!(["<secret>"])
    );
    assert_eq!(config["ingest"]["drain_secs"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn successful_requests_are_logged_at_the_configured_level() {
    let mut running = spawn(
        &prefix(),
        &[
            ("GRAPHHOOK_LOG__LEVEL", "info".into()),
            ("GRAPHHOOK_LOG__SUCCESS_LEVEL", "debug".into()),
        ],
    );
    let ports = running.ports();
    let client = reqwest::Client::new();
    ready(&client, ports.ingest_ops).await;
    let probe = std::process::Command::new(env!("CARGO_BIN_EXE_graphhook"))
        .args([
            "healthcheck",
            &format!("http://127.0.0.1:{}/healthz", ports.processor_ops),
        ])
        .status()
        .expect("healthcheck runs");
    assert!(probe.success(), "graphhook healthcheck of a live process");
    assert_eq!(signed_post(&client, ports.ingest).await, 200);
    let forged = client
        .post(format!("http://127.0.0.1:{}/webhooks/main", ports.ingest))
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let (_, seen) = running.stop().await;
    let logs = json_lines(&seen);
    let lines: Vec<&Value> = logs.iter().filter(|l| l["message"] == "request").collect();
    assert!(
        lines.iter().all(|l| l["http.status_code"] != 200),
        "a success at debug is not written at level info"
    );
    assert!(lines.iter().any(|l| l["http.status_code"] == 401));
}
