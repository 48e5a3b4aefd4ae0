//! The edge an operator puts on the internet: listeners apart, bodies under a
//! deadline and a shared budget, readiness from one cached check, the admin API's
//! authorization, and alerting series present from start-up.

use std::time::{Duration, Instant};

use graphhook_kafka::Bus;
use reqwest::header::AUTHORIZATION;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{pipeline_with, Pipeline, ADMIN_TOKEN};
use crate::helpers::{spawn_app_with, APP, APP_ID};

const BODY: &str = r#"{"object":"instagram","entry":[{"id":"1784","time":1700000000,"changes":[{"field":"mentions","value":{"media_id":"1"}}]}]}"#;

/// The counter selectors (`graphhook_..._total{k="v",...}`) of the alert rules.
fn alerted_counters() -> Vec<(String, Vec<(String, String)>)> {
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/alerts.yml"
    ))
    .expect("alert rules");
    let mut selectors = Vec::new();
    for line in rules
        .lines()
        .filter(|l| l.trim_start().starts_with("expr:"))
    {
        let mut rest = line;
        while let Some(start) = rest.find("graphhook_") {
            rest = &rest[start..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = rest[..end].to_owned();
            rest = &rest[end..];
            if !name.ends_with("_total") {
                continue;
            }
            let mut matchers = Vec::new();
            if let Some(labels) = rest.strip_prefix('{') {
                let close = labels.find('}').expect("closed selector");
                for matcher in labels[..close].split(',') {
                    if let Some((key, value)) = matcher.split_once('=') {
                        if !value.starts_with('~') && !key.ends_with('!') {
                            matchers.push((key.trim().to_owned(), value.trim().to_owned()));
                        }
                    }
                }
            }
            selectors.push((name, matchers));
        }
    }
    selectors
}

fn exposes(exposition: &str, name: &str, matchers: &[(String, String)]) -> bool {
    exposition.lines().any(|line| {
        line.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            && matchers
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}={value}")))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_counter_an_alert_watches_exists_at_zero_from_start() {
    let p = pipeline_with(|_| {}).await;
    let ingest = p.app.metrics().await;
    let processor = p.get("/metrics").await.text().await.unwrap();
    let selectors = alerted_counters();
    assert!(selectors.len() >= 9, "{selectors:?}");
    for (name, matchers) in &selectors {
        assert!(
            exposes(&ingest, name, matchers) || exposes(&processor, name, matchers),
            "{name}{matchers:?} is not exposed at start-up"
        );
    }
    assert!(ingest.contains(&format!(
        r#"graphhook_signature_failures_total{{app="{APP}",reason="mismatch"}} 0"#
    )));
    assert!(processor.contains(
        r#"graphhook_processor_account_transitions_total{reason="token_expiring",to="reconnect_required"} 0"#
    ));
}

async fn status_of(client: &reqwest::Client, url: String) -> (StatusCode, Value) {
    let response = client.get(url).send().await.expect("request sent");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_listener_serves_only_its_routes() {
    let p = pipeline_with(|_| {}).await;
    let client = &p.app.client;
    let public = &p.app.address;
    let ops = &p.app.ops_address;
    // Readiness is a cached check that a loaded machine may not have passed yet;
    // what is tested here is which listener serves the route.
    p.app.readiness_becomes(200).await;
    for path in ["/metrics", "/readyz", "/healthz"] {
        let (status, problem) = status_of(client, format!("{public}{path}")).await;
        assert_eq!(status, 404, "ingest's public {path}");
        assert_eq!(problem["detail"], "No such route.");
        assert_eq!(status_of(client, format!("{ops}{path}")).await.0, 200);
    }
    let on_ops = client
        .post(format!("{ops}/webhooks/{APP}"))
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        on_ops.status(),
        404,
        "no webhooks on the operations listener"
    );

    let running = p.processor.as_ref().expect("processor");
    let processor_public = format!("http://127.0.0.1:{}", running.port);
    let admin = format!("/v1/apps/{APP_ID}/accounts");
    for path in ["/metrics", "/readyz", "/healthz", admin.as_str()] {
        let response = client
            .get(format!("{processor_public}{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "processor's public {path}");
    }
    let (status, problem) =
        status_of(client, format!("{processor_public}/data-deletion/abc")).await;
    assert_eq!(
        (status, problem["detail"].as_str()),
        (
            StatusCode::NOT_FOUND,
            Some("No such data-deletion request.")
        )
    );
    let processor_ops = format!("http://127.0.0.1:{}", running.ops_port);
    let (status, problem) = status_of(client, format!("{processor_ops}/data-deletion/abc")).await;
    assert_eq!(status, 404);
    assert_eq!(
        problem["detail"], "No such route.",
        "the status page is public only"
    );
}

fn admin_request(p: &Pipeline, path: &str) -> reqwest::RequestBuilder {
    p.app.client.request(Method::GET, p.url(path))
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_authorization_follows_rfc_6750_and_refuses_ambiguity() {
    const NEXT_TOKEN: &str = "Rotated-admin-token-9f8e7d6c5b4a39281706";
    let p = pipeline_with(|s| {
        s.processor.admin_token = vec![ADMIN_TOKEN.into(), NEXT_TOKEN.into()];
    })
    .await;
    let path = format!("/v1/apps/{APP_ID}/accounts");
    let with = |value: String| admin_request(&p, &path).header(AUTHORIZATION, value);
    for (value, expected) in [
        (format!("Bearer {ADMIN_TOKEN}"), 200),
        (format!("bearer {ADMIN_TOKEN}"), 200),
        (format!("BEARER   {ADMIN_TOKEN}  "), 200),
        (format!("Bearer {NEXT_TOKEN}"), 200),
        (format!("Bearer\t{ADMIN_TOKEN}"), 200),
        ("Bearer".to_owned(), 401),
        ("Bearer ".to_owned(), 401),
        (format!("Basic {ADMIN_TOKEN}"), 401),
        (format!("Bearer {ADMIN_TOKEN}x"), 401),
        (format!("Bearer x {ADMIN_TOKEN}"), 401),
    ] {
        let status = with(value.clone()).send().await.unwrap().status();
        assert_eq!(status.as_u16(), expected, "Authorization: {value:?}");
    }
    let twice = admin_request(&p, &path)
        .header(AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
        .header(AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400, "two Authorization headers");
    let problem: Value = twice.json().await.unwrap();
    assert_eq!(problem["detail"], "more than one Authorization header");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_lists_all_accounts_refuses_unknown_apps_and_large_bodies() {
    let p = pipeline_with(|s| s.processor.max_body_bytes = 4096).await;
    for account in ["a1", "a2", "a3"] {
        let response = p
            .admin(
                Method::PUT,
                &format!("/v1/apps/{APP_ID}/accounts/{account}"),
            )
            .json(&json!({"tenant": "t"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let all = p.admin_get(&format!("/v1/apps/{APP_ID}/accounts")).await;
    let ids: Vec<&str> = all["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a1", "a2", "a3"], "no state filter lists every state");

    for path in ["/v1/apps/999/accounts", "/v1/apps/999/accounts/a1"] {
        let response = p.admin(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains("app"),
            "{problem}"
        );
    }
    let huge = json!({"tenant": "x".repeat(8192)});
    let response = p
        .admin(Method::PUT, &format!("/v1/apps/{APP_ID}/accounts/a1"))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn processor_readiness_and_its_gauge_follow_a_stalled_broker() {
    let p = pipeline_with(|s| {
        s.kafka.brokers = String::new();
        s.kafka.produce_deadline_ms = 500;
    })
    .await;
    let agree = |status: StatusCode, exposition: &str| {
        let gauge = if status == 200 { 1 } else { 0 };
        exposition.contains(&format!("graphhook_processor_ready {gauge}\n"))
    };
    p.eventually("ready", || async { p.get("/readyz").await.status() == 200 })
        .await;
    let Bus::Embedded { cluster, .. } = &p.app.bus else {
        panic!("the embedded cluster was asked for");
    };
    cluster.broker_down(1).expect("broker down");
    p.eventually("not ready while the broker is down", || async {
        p.get("/readyz").await.status() == 503
    })
    .await;
    let problem: Value = p.get("/readyz").await.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("broker"),
        "{problem}"
    );
    let exposition = p.get("/metrics").await.text().await.unwrap();
    assert!(agree(StatusCode::SERVICE_UNAVAILABLE, &exposition));
    cluster.broker_up(1).expect("broker up");
    p.eventually("ready again", || async {
        p.get("/readyz").await.status() == 200
    })
    .await;
    let exposition = p.get("/metrics").await.text().await.unwrap();
    assert!(agree(StatusCode::OK, &exposition));
}

/// Sends a request head announcing `length` bytes and `sent` of them.
async fn partial_post(address: &str, length: usize, sent: usize) -> TcpStream {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.expect("connects");
    let head = format!(
        "POST /webhooks/{APP} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; sent]).await.unwrap();
    stream
}

async fn answer(mut stream: TcpStream, within: Duration) -> String {
    let mut buffer = Vec::new();
    let _ = tokio::time::timeout(within, stream.read_to_end(&mut buffer)).await;
    String::from_utf8_lossy(&buffer).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickled_body_is_cut_at_its_deadline() {
    let app = spawn_app_with(|s| s.ingest.body_timeout_ms = 1_000).await;
    let started = Instant::now();
    let mut stream = partial_post(&app.address, 1_000, 1).await;
    let trickle = tokio::spawn(async move {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if stream.write_all(b" ").await.is_err() {
                break;
            }
        }
        stream
    });
    let stream = trickle.await.unwrap();
    let text = answer(stream, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the connection ended at the deadline, not when the sender chose"
    );
    assert_eq!(app.post_signed(BODY).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_beyond_the_budget_get_503_and_deliveries_resume_when_it_frees() {
    let app = spawn_app_with(|s| {
        s.ingest.max_body_bytes = 64 * 1024;
        s.ingest.max_bytes_in_flight = 128 * 1024;
        s.ingest.body_budget_wait_ms = 300;
        s.ingest.body_timeout_ms = 3_000;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(partial_post(&app.address, 64 * 1024, 60 * 1024).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let exposition = app.metrics().await;
    let in_flight =
        crate::helpers::metric_value(&exposition, "graphhook_request_body_bytes_in_flight");
    assert!(
        in_flight >= 100.0 * 1024.0,
        "held bytes counted: {in_flight}"
    );
    let refused = app
        .post_signed(&format!("{BODY}{}", " ".repeat(20 * 1024)))
        .await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["type"], "urn:graphhook:problem:busy");
    for stream in held {
        let text = answer(stream, Duration::from_secs(6)).await;
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    }
    assert_eq!(app.post_signed(BODY).await.status(), 200);
    let exposition = app.metrics().await;
    assert_eq!(
        crate::helpers::metric_value(&exposition, "graphhook_request_body_bytes_in_flight"),
        0.0
    );
}
