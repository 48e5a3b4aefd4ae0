//! `POST /webhooks/{app}`: what is written to Kafka, and what is refused.

use graphhook_ingest::signature::sign_sha256;
use graphhook_schema::topics::{headers, DELIVERIES, EVENTS};
use graphhook_schema::InboundEvent;
use rdkafka::Message;

use crate::helpers::{header, metric_value, spawn_app, spawn_app_with, APP, APP_ID, SECRET};

const BODY: &str = r#"{"object":"instagram","entry":[{"id":"17841400001","time":1700000000,"changes":[{"field":"comments","value":{"from":{"id":"232","username":"j\u00fcrgen"},"id":"178657","text":"Sch\u00f6n! https:\/\/x.com\/a","media":{"id":"9001","media_product_type":"FEED"}}},{"field":"mentions","value":{"media_id":"9002"}}]},{"id":"17841400002","time":1700000001,"messaging":[{"sender":{"id":"5"},"recipient":{"id":"17841400002"},"timestamp":1700000001000,"message":{"mid":"m_1","text":"hi"}}]}]}"#;

#[tokio::test]
async fn delivery_and_events_are_written_byte_for_byte_with_keys_and_headers() {
    let app = spawn_app().await;
    let response = app.post_signed(BODY).await;
    assert_eq!(response.status(), 200);
    let accepted: serde_json::Value = response.json().await.unwrap();
    let delivery_id = accepted["delivery_id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["events"], 3);

    let deliveries = app.read_records(DELIVERIES, 1).await;
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(
        delivery.payload(),
        Some(BODY.as_bytes()),
        "body kept byte-for-byte"
    );
    assert_eq!(delivery.key(), Some(APP_ID.as_bytes()));
    assert_eq!(
        header(delivery, headers::REQUEST_ID),
        Some(delivery_id.as_str())
    );
    assert_eq!(header(delivery, headers::APP), Some(APP));
    assert_eq!(header(delivery, headers::APP_ID), Some(APP_ID));
    assert_eq!(header(delivery, headers::ENDPOINT), Some("webhook"));
    assert_eq!(header(delivery, headers::PARSE), Some("ok"));
    assert_eq!(
        header(delivery, headers::CONTENT_TYPE),
        Some("application/json")
    );
    let received_at: i64 = header(delivery, headers::RECEIVED_AT)
        .unwrap()
        .parse()
        .unwrap();
    assert!(received_at > 1_700_000_000_000);

    let mut events = app.read_records(EVENTS, 3).await;
    assert_eq!(events.len(), 3);
    events.sort_by_key(|m| header(m, headers::FIELD).map(str::to_owned));
    let fields: Vec<_> = events
        .iter()
        .map(|m| header(m, headers::FIELD).unwrap())
        .collect();
    assert_eq!(fields, ["comments", "mentions", "message"]);
    for record in &events {
        let event: InboundEvent = serde_json::from_slice(record.payload().unwrap()).unwrap();
        assert_eq!(
            record.key(),
            Some(event.account_id.as_bytes()),
            "keyed by account id"
        );
        assert_eq!(
            header(record, headers::EVENT_ID),
            Some(event.event_id.as_str())
        );
        assert_eq!(header(record, headers::OBJECT), Some("instagram"));
        assert_eq!(
            header(record, headers::REQUEST_ID),
            Some(delivery_id.as_str())
        );
        assert_eq!(event.delivery_id, delivery_id);
        assert_eq!(event.received_at_ms, received_at);
    }
    let comment: InboundEvent = serde_json::from_slice(events[0].payload().unwrap()).unwrap();
    assert_eq!(
        comment.value.get(),
        r#"{"from":{"id":"232","username":"j\u00fcrgen"},"id":"178657","text":"Sch\u00f6n! https:\/\/x.com\/a","media":{"id":"9001","media_product_type":"FEED"}}"#,
        "the item's value is kept verbatim"
    );
    assert_eq!(events[2].key(), Some(&b"17841400002"[..]));
}

#[tokio::test]
async fn a_redelivered_change_keeps_its_event_id() {
    let app = spawn_app().await;
    assert_eq!(app.post_signed(BODY).await.status(), 200);
    let rebatched = BODY.replace(r#""time":1700000000,"#, r#""time":1700009999,"#);
    assert_eq!(app.post_signed(&rebatched).await.status(), 200);
    let events = app.read_records(EVENTS, 6).await;
    assert_eq!(events.len(), 6);
    let ids: std::collections::HashSet<_> = events
        .iter()
        .map(|m| header(m, headers::EVENT_ID).unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "the same three changes, twice");
}

#[tokio::test]
async fn a_signed_body_that_is_not_an_envelope_is_kept_and_answered_200() {
    let app = spawn_app().await;
    let body = r#"{"unexpected": "shape"}"#;
    let response = app.post_signed(body).await;
    assert_eq!(response.status(), 200);
    let deliveries = app.read_records(DELIVERIES, 1).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].payload(), Some(body.as_bytes()));
    assert_eq!(header(&deliveries[0], headers::PARSE), Some("failed"));
    assert!(app.read_records(EVENTS, 0).await.is_empty());
    let metrics = app.metrics().await;
    assert_eq!(
        metric_value(
            &metrics,
            &format!(
                r#"graphhook_unparseable_deliveries_total{{app="{APP}",reason="not_an_envelope"}}"#
            )
        ),
        1.0
    );
}

#[tokio::test]
async fn bad_signatures_answer_401_with_a_problem_and_write_nothing() {
    let app = spawn_app().await;
    let wrong = sign_sha256(b"not-the-secret", BODY.as_bytes());
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[], "missing"),
        (&[("X-Hub-Signature-256", "sha256=abc")], "malformed"),
        (&[("X-Hub-Signature-256", wrong.as_str())], "mismatch"),
    ];
    for (headers, reason) in cases {
        let response = app.post_webhook(BODY, headers).await;
        assert_eq!(response.status(), 401, "{reason}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 401);
        assert_eq!(problem["type"], "urn:graphhook:problem:invalid-signature");
    }
    assert!(app.read_records(DELIVERIES, 0).await.is_empty());
    assert!(app.read_records(EVENTS, 0).await.is_empty());
    let metrics = app.metrics().await;
    for reason in ["missing", "malformed", "mismatch"] {
        let series =
            format!(r#"graphhook_signature_failures_total{{app="{APP}",reason="{reason}"}}"#);
        assert_eq!(metric_value(&metrics, &series), 1.0, "{series}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_answers_413() {
    let app = spawn_app_with(|s| s.ingest.max_body_bytes = 2048).await;
    let big = format!(
        r#"{{"object":"instagram","entry":[],"pad":"{}"}}"#,
        "x".repeat(4096)
    );
    let response = app.post_signed(&big).await;
    assert_eq!(response.status(), 413);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "urn:graphhook:problem:payload-too-large");
    assert!(app.read_records(DELIVERIES, 0).await.is_empty());
}

#[tokio::test]
async fn an_unknown_app_answers_404() {
    let app = spawn_app().await;
    let signature = sign_sha256(SECRET.as_bytes(), BODY.as_bytes());
    let response = app
        .client
        .post(format!("{}/webhooks/nope", app.address))
        .header("X-Hub-Signature-256", signature)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "urn:graphhook:problem:unknown-app");
}

#[tokio::test]
async fn concurrent_deliveries_are_all_acknowledged_and_stored() {
    let app = spawn_app().await;
    let bodies: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"object":"instagram","entry":[{{"id":"acct{}","time":1700000000,"changes":[{{"field":"comments","value":{{"id":"c{i}"}}}}]}}]}}"#, i % 4))
        .collect();
    let mut requests = tokio::task::JoinSet::new();
    for body in &bodies {
        requests.spawn(app.signed_webhook(body).send());
    }
    while let Some(response) = requests.join_next().await {
        assert_eq!(response.unwrap().unwrap().status(), 200);
    }
    assert_eq!(app.read_records(DELIVERIES, 40).await.len(), 40);
    assert_eq!(app.read_records(EVENTS, 40).await.len(), 40);
}

#[tokio::test]
async fn a_large_batch_is_stored_as_one_delivery_and_one_event_per_change() {
    let app = spawn_app().await;
    let changes: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"field":"comments","value":{{"id":"c{i}","text":"t\u00e9xt {i}","media":{{"id":"m{}"}}}}}}"#, i % 10))
        .collect();
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"1784","time":1700000000,"changes":[{}]}}]}}"#,
        changes.join(",")
    );
    let response = app.post_signed(&body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.read_records(DELIVERIES, 1).await[0].payload(),
        Some(body.as_bytes())
    );
    assert_eq!(app.read_records(EVENTS, 1000).await.len(), 1000);
}
