//! Health, readiness, metrics, and what happens when Kafka is away.

use graphhook_schema::topics::DELIVERIES;

use crate::helpers::{metric_value, spawn_app, spawn_app_with, APP};

const BODY: &str = r#"{"object":"instagram","entry":[{"id":"1784","time":1700000000,"changes":[{"field":"mentions","value":{"media_id":"1"}}]}]}"#;

#[tokio::test]
async fn health_and_readiness_answer_200_with_a_reachable_broker() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.readiness_becomes(200).await;
}

#[tokio::test]
async fn broker_unreachable_answers_503_with_retry_after_and_reports_nothing_accepted() {
    let app = spawn_app_with(|s| {
        s.kafka.brokers = "127.0.0.1:1".to_owned();
        s.kafka.create_topics = false;
        s.kafka.produce_deadline_ms = 500;
        s.ingest.readiness_timeout_ms = 300;
    })
    .await;
    let started = std::time::Instant::now();
    let response = app.post_signed(BODY).await;
    assert_eq!(response.status(), 503);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "answered within the deadline"
    );
    assert_eq!(response.headers()["retry-after"], "5");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "urn:graphhook:problem:unavailable");
    app.readiness_becomes(503).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let metrics = app.metrics().await;
    assert_eq!(
        metric_value(
            &metrics,
            r#"graphhook_kafka_produce_failures_total{reason="deadline"}"#
        ),
        1.0
    );
    assert_eq!(
        metric_value(
            &metrics,
            &format!(r#"graphhook_deliveries_total{{app="{APP}",endpoint="webhook"}}"#)
        ),
        0.0
    );
}

#[tokio::test]
async fn metrics_count_requests_deliveries_events_and_latency() {
    let app = spawn_app().await;
    assert_eq!(app.post_signed(BODY).await.status(), 200);
    assert_eq!(app.read_records(DELIVERIES, 1).await.len(), 1);
    let metrics = app.metrics().await;
    let expect =
        |series: &str, value: f64| assert_eq!(metric_value(&metrics, series), value, "{series}");
    expect(
        r#"graphhook_http_requests_total{method="POST",route="/webhooks/{app}",status="200"}"#,
        1.0,
    );
    expect(
        &format!(r#"graphhook_deliveries_total{{app="{APP}",endpoint="webhook"}}"#),
        1.0,
    );
    expect(
        r#"graphhook_events_total{field="mentions",object="instagram"}"#,
        1.0,
    );
    expect("graphhook_kafka_produce_duration_seconds_count", 1.0);
    expect("graphhook_request_body_bytes_count", 1.0);
    expect(
        r#"graphhook_http_request_duration_seconds_count{route="/webhooks/{app}"}"#,
        1.0,
    );
    assert!(metrics.contains("graphhook_http_requests_in_flight"));
}

#[tokio::test]
async fn unknown_routes_answer_a_404_problem() {
    let app = spawn_app().await;
    let response = app.get("/nowhere").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_stopped_server_has_acknowledged_what_it_answered_and_refuses_new_requests() {
    let app = spawn_app().await;
    assert_eq!(app.post_signed(BODY).await.status(), 200);
    app.handle.stop(true).await;
    assert!(
        app.signed_webhook(BODY).send().await.is_err(),
        "no longer accepting"
    );
    assert_eq!(app.read_records(DELIVERIES, 1).await.len(), 1);
}
