//! The defects found at the edges, end to end: content the store cannot hold,
//! the relay on its own, bodies at the size limit, a broken producer, and metrics
//! that nobody outside can grow.

use std::time::{Duration, Instant};

use graphhook_kafka::Bus;
use graphhook_processor::testing::test_database_urls;
use graphhook_schema::output::DeadLetterRecord;
use graphhook_schema::topics::{ACCOUNTS, DELIVERIES, DLQ, EVENTS, GRAPH_ERRORS, PUBLISH_REQUESTS};
use rdkafka::producer::Producer;
use rdkafka::Message;
use reqwest::Method;
use serde_json::json;

use crate::harness::{pipeline_on, pipeline_with};
use crate::helpers::{metric_value, spawn_app, spawn_app_with, APP_ID};

fn comment(account: &str, id: &str, media: &str) -> String {
    json!({"object":"instagram","entry":[{"id":account,"time":1_700_000_000,"changes":[{"field":"comments","value":{"id":id,"media":{"id":media}}}]}]}).to_string()
}

fn mention(account: &str, media: &str) -> String {
    json!({"object":"instagram","entry":[{"id":account,"time":1_700_000_001,"changes":[{"field":"mentions","value":{"media_id":media}}]}]}).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn content_the_store_cannot_hold_is_dead_lettered_and_the_partition_goes_on() {
    for database in test_database_urls().await.expect("test databases") {
        let engine = database.split(':').next().unwrap_or_default().to_owned();
        // One partition: every record below is in the same one, in this order.
        let p = pipeline_on(database, |s| s.kafka.partitions = 1).await;
        p.deliver(&comment("a1", "c1", "m1")).await;
        p.deliver(&comment("a\u{0}1", "c2", "m1")).await;
        p.deliver(&comment("a1", "c3", "m\u{0}")).await;
        p.deliver(&mention("a1", &"7".repeat(600))).await;
        p.write_raw(
            GRAPH_ERRORS,
            "a\u{0}",
            &json!({"app_id": APP_ID, "account_id": "a\u{0}", "http_status": 400, "code": 190, "time_ms": 1}).to_string(),
        )
        .await;
        p.write_raw(
            PUBLISH_REQUESTS,
            "17841400000",
            &json!({"request_id": "r-nul", "app_id": APP_ID, "account_id": "17841400000",
                "kind": "image", "image_url": "https://cdn.example/a.jpg", "caption": "a\u{0}b"})
            .to_string(),
        )
        .await;
        p.deliver(&mention("a1", "m2")).await;

        let dead: Vec<DeadLetterRecord> = p
            .app
            .read_records(DLQ, 5)
            .await
            .iter()
            .map(|m| serde_json::from_slice(m.payload().expect("value")).expect("dead letter"))
            .collect();
        let mut reasons: Vec<&str> = dead.iter().map(|d| d.error.as_str()).collect();
        reasons.sort_unstable();
        assert_eq!(
            reasons,
            [
                "account id contains a NUL character",
                "account id contains a NUL character",
                "caption contains a NUL character",
                "media id contains a NUL character",
                "media id is 600 bytes long (at most 512)",
            ],
            "{engine}"
        );
        assert!(dead
            .iter()
            .all(|d| !d.record_id.is_empty() && !d.source_event_id.is_empty()));
        // The two good events around them are applied; the four are claimed as dead
        // letters so that reading them again changes nothing.
        p.eventually("good events applied", || async {
            p.count("SELECT COUNT(*) FROM processed_events WHERE event_id NOT LIKE 'dlq:%'")
                .await
                == 2
        })
        .await;
        p.eventually("ready", || async { p.get("/readyz").await.status() == 200 })
            .await;
        let exposition = p.get("/metrics").await.text().await.unwrap();
        let rejected = |topic: &str| {
            metric_value(
                &exposition,
                &format!(
                    r#"graphhook_processor_dead_letters_total{{cause="rejected",source_topic="{}"}}"#,
                    p.app.topic(topic)
                ),
            )
        };
        assert_eq!(
            (rejected(EVENTS), rejected(GRAPH_ERRORS)),
            (3.0, 1.0),
            "{engine}"
        );
        assert!(
            metric_value(
                &exposition,
                r#"graphhook_processor_retries_total{cause="database"}"#
            ) == 0.0,
            "content is never retried as if the database were down"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_change_is_relayed_within_a_second_while_no_events_arrive() {
    let p = pipeline_with(|_| {}).await;
    p.eventually("ready", || async { p.get("/readyz").await.status() == 200 })
        .await;
    let response = p
        .admin(
            Method::POST,
            &format!("/v1/apps/{APP_ID}/accounts/a42/events"),
        )
        .json(&json!({"event": "refresh_started"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answered = Instant::now();
    while p.count("SELECT COUNT(*) FROM outbox").await > 0 {
        assert!(
            answered.elapsed() < Duration::from_secs(1),
            "not relayed within a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let records = p.app.read_records(ACCOUNTS, 1).await;
    assert_eq!(records.len(), 1);
    let value: serde_json::Value = serde_json::from_slice(records[0].payload().unwrap()).unwrap();
    assert_eq!(value["to"], "refreshing");
    assert_eq!(
        rdkafka::message::Headers::iter(records[0].headers().expect("headers"))
            .find(|h| h.key == "graphhook-record-id")
            .and_then(|h| h.value),
        Some(value["record_id"].as_str().unwrap().as_bytes())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_kafka_down_the_admin_api_and_readiness_answer_without_waiting_on_kafka() {
    // The embedded cluster (its broker can be taken down) and SQLite, whose pool has
    // a single connection: nothing may hold it while Kafka is awaited.
    let p = pipeline_on(graphhook_processor::testing::temp_sqlite_url(), |s| {
        s.kafka.brokers = String::new();
    })
    .await;
    p.eventually("ready", || async { p.get("/readyz").await.status() == 200 })
        .await;
    let Bus::Embedded { cluster, .. } = &p.app.bus else {
        panic!("the embedded cluster was asked for");
    };
    cluster.broker_down(1).expect("broker down");
    for account in ["k1", "k2", "k3"] {
        let started = Instant::now();
        let response = p
            .admin(
                Method::POST,
                &format!("/v1/apps/{APP_ID}/accounts/{account}/events"),
            )
            .json(&json!({"event": "refresh_started"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let read = p
            .admin_get(&format!("/v1/apps/{APP_ID}/accounts/{account}"))
            .await;
        assert_eq!(read["account"]["state"], "refreshing");
        let ready = p.get("/readyz").await.status();
        assert!(ready == 200 || ready == 503);
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "an admin change, a read and a readiness check took {:?} with Kafka down",
            started.elapsed()
        );
    }
    assert_eq!(
        p.count("SELECT COUNT(*) FROM outbox").await,
        3,
        "kept until Kafka is back"
    );
    cluster.broker_up(1).expect("broker up");
    p.eventually("relayed once Kafka is back", || async {
        p.count("SELECT COUNT(*) FROM outbox").await == 0
    })
    .await;
}

/// A signed comment whose text makes the body exactly `size` bytes long.
fn body_of_size(size: usize) -> String {
    let frame = comment("a1", "c1", "m1").replace(r#""id":"c1""#, r#""id":"c1","text":"""#);
    let padding = size - frame.len();
    frame.replace(
        r#""text":"""#,
        &format!(r#""text":"{}""#, "x".repeat(padding)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_just_under_the_size_limit_is_stored_whole() {
    let app = spawn_app().await;
    let size = app.settings.ingest.max_body_bytes - 16;
    let body = body_of_size(size);
    assert_eq!(body.len(), size);
    let response = app.post_signed(&body).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let deliveries = app.read_records(DELIVERIES, 1).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].payload().map(<[u8]>::len), Some(size));
    let events = app.read_records(EVENTS, 1).await;
    assert_eq!(events.len(), 1);
    assert!(events[0].payload().map_or(0, <[u8]>::len) > size);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fatally_failed_producer_is_replaced_and_deliveries_are_stored_again() {
    let app = spawn_app().await;
    assert_eq!(
        app.post_signed(&comment("a1", "c1", "m1")).await.status(),
        200
    );
    let producer = app.publisher.producer();
    let reason = std::ffi::CString::new("test: the producer's sequence state broke").unwrap();
    // librdkafka's own hook for testing fatal errors: every later produce fails.
    // SAFETY: the client pointer is valid while `producer` is held, and the
    // reason is a NUL-terminated string that outlives the call.
    #[allow(unsafe_code)]
    unsafe {
        rdkafka::bindings::rd_kafka_test_fatal_error(
            producer.client().native_ptr(),
            rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
            reason.as_ptr(),
        );
    }
    assert!(producer.client().fatal_error().is_some());
    drop(producer);
    for i in 0..3 {
        let response = app
            .post_signed(&comment("a1", &format!("c{}", i + 2), "m1"))
            .await;
        assert_eq!(response.status(), 200, "delivery {i} after the fatal error");
    }
    app.readiness_becomes(200).await;
    let exposition = app.metrics().await;
    assert_eq!(
        metric_value(&exposition, "graphhook_kafka_producers_replaced_total"),
        1.0
    );
    assert_eq!(app.read_records(DELIVERIES, 4).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_that_could_not_be_stored_turns_readiness_false_until_one_is() {
    let app = spawn_app_with(|s| {
        s.kafka.brokers = String::new();
        s.kafka.produce_deadline_ms = 500;
    })
    .await;
    let Bus::Embedded { cluster, .. } = &app.bus else {
        panic!("the embedded cluster was asked for");
    };
    app.readiness_becomes(200).await;
    cluster.broker_down(1).expect("broker down");
    assert_eq!(
        app.post_signed(&comment("a1", "c1", "m1")).await.status(),
        503
    );
    app.readiness_becomes(503).await;
    cluster.broker_up(1).expect("broker up");
    let stored = Instant::now();
    while app.post_signed(&comment("a1", "c2", "m1")).await.status() != 200 {
        assert!(
            stored.elapsed() < Duration::from_secs(20),
            "never stored again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.readiness_becomes(200).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn made_up_methods_and_fields_do_not_grow_the_metrics() {
    let p = pipeline_with(|_| {}).await;
    for i in 0..50 {
        let body = json!({"object":"instagram","entry":[{"id":"a1","time":1_700_000_000 + i,"changes":[{"field":format!("made_up_{i}"),"value":{"n":i}}]}]}).to_string();
        p.deliver(&body).await;
    }
    let before = (
        p.app.metrics().await.len(),
        p.get("/metrics").await.text().await.unwrap().len(),
    );
    for i in 0..300 {
        let method = Method::from_bytes(format!("X{i}{}", "Y".repeat(400)).as_bytes()).unwrap();
        let url = format!("{}/webhooks/main", p.app.address);
        let _ = p.app.client.request(method.clone(), url).send().await;
        let _ = p.app.client.request(method, p.url("/readyz")).send().await;
    }
    p.processed(50).await;
    let ingest = p.app.metrics().await;
    let processor = p.get("/metrics").await.text().await.unwrap();
    for exposition in [&ingest, &processor] {
        assert!(!exposition.contains("X1Y") && !exposition.contains("made_up_"));
        assert!(exposition.contains(r#"method="other""#));
    }
    assert_eq!(
        metric_value(
            &ingest,
            r#"graphhook_events_total{field="other",object="instagram"}"#
        ),
        50.0
    );
    // A few new series (the `other` method on each route and status), not 300.
    assert!(
        ingest.len() < before.0 + 4_096,
        "ingest /metrics grew by {}",
        ingest.len() - before.0
    );
    assert!(
        processor.len() < before.1 + 4_096,
        "processor /metrics grew by {}",
        processor.len() - before.1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_refuses_to_start_when_a_topic_cannot_hold_the_body_limit() {
    let mut settings = crate::helpers::test_settings();
    if settings.kafka.embedded() {
        // The in-process cluster has no topic configuration to check.
        return;
    }
    let bus = Bus::start(&settings.kafka).unwrap();
    let topics = graphhook_kafka::Topics::new(&settings.kafka.topic_prefix);
    // An operator's topic, created before graphhook with the broker's usual 1 MB.
    settings.kafka.max_message_bytes = 1024 * 1024 + 12;
    bus.ensure_topics(
        &settings.kafka,
        &[topics.deliveries()],
        Duration::from_secs(15),
    )
    .await
    .unwrap();
    settings.kafka.max_message_bytes = 8 * 1024 * 1024;
    let error = graphhook::commands::start_ingest(&settings, &bus)
        .await
        .err()
        .expect("ingest must not start");
    let text = format!("{error:#}");
    assert!(
        text.contains("max.message.bytes") && text.contains("ingest.max_body_bytes"),
        "{text}"
    );
}
