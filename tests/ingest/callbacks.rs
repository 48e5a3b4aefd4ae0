//! Deauthorize and data-deletion callbacks.

use graphhook_ingest::signed_request::sign_signed_request;
use graphhook_schema::topics::{headers, DELIVERIES, EVENTS};
use graphhook_schema::InboundEvent;
use rdkafka::Message;

use crate::helpers::{header, spawn_app, spawn_app_with, TestApp, APP, SECRET};

const PAYLOAD: &str =
    r#"{"algorithm":"HMAC-SHA256","expires":1291840400,"issued_at":1291836800,"user_id":"218471"}"#;

pub async fn post_callback(app: &TestApp, kind: &str, form: String) -> reqwest::Response {
    app.client
        .post(format!("{}/callbacks/{APP}/{kind}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

pub fn signed_form(payload: &str) -> String {
    format!(
        "signed_request={}",
        sign_signed_request(SECRET.as_bytes(), payload)
    )
}

#[tokio::test]
async fn data_deletion_answers_a_status_url_and_a_stable_code_and_stores_the_event() {
    let app = spawn_app().await;
    let first: serde_json::Value = post_callback(&app, "data-deletion", signed_form(PAYLOAD))
        .await
        .json()
        .await
        .unwrap();
    let retry = post_callback(&app, "data-deletion", signed_form(PAYLOAD)).await;
    assert_eq!(retry.status(), 200);
    let retry: serde_json::Value = retry.json().await.unwrap();
    let code = first["confirmation_code"].as_str().unwrap();
    assert!(!code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        first["url"],
        format!("https://hooks.example.com/graphhook/data-deletion/{code}")
    );
    assert_eq!(first, retry, "a retried request gets the same code");

    let events = app.read_records(EVENTS, 2).await;
    assert_eq!(events.len(), 2);
    let event: InboundEvent = serde_json::from_slice(events[0].payload().unwrap()).unwrap();
    assert_eq!(event.object, "graphhook_callback");
    assert_eq!(event.field, "data_deletion");
    assert_eq!(event.account_id, "218471");
    assert_eq!(events[0].key(), Some(&b"218471"[..]));
    assert_eq!(event.event_time_ms, Some(1_291_836_800_000));
    let value: serde_json::Value = serde_json::from_str(event.value.get()).unwrap();
    assert_eq!(value["data_deletion"]["confirmation_code"], code);
    assert_eq!(value["signed_request"]["user_id"], "218471");
    assert_eq!(
        header(&events[1], headers::EVENT_ID),
        Some(event.event_id.as_str())
    );

    let deliveries = app.read_records(DELIVERIES, 2).await;
    assert_eq!(
        header(&deliveries[0], headers::ENDPOINT),
        Some("data_deletion")
    );
    assert_eq!(
        deliveries[0].payload(),
        Some(signed_form(PAYLOAD).as_bytes())
    );
}

#[tokio::test]
async fn deauthorize_answers_200_and_stores_the_event() {
    let app = spawn_app().await;
    let response = post_callback(&app, "deauthorize", signed_form(PAYLOAD)).await;
    assert_eq!(response.status(), 200);
    let events = app.read_records(EVENTS, 1).await;
    assert_eq!(events.len(), 1);
    let event: InboundEvent = serde_json::from_slice(events[0].payload().unwrap()).unwrap();
    assert_eq!(event.field, "deauthorize");
    assert_eq!(event.account_id, "218471");
}

#[tokio::test]
async fn a_tampered_or_wrong_algorithm_request_is_401_and_garbage_is_400() {
    let app = spawn_app().await;
    let signed = sign_signed_request(b"wrong-secret", PAYLOAD);
    let cases = [
        (format!("signed_request={signed}"), 401),
        (
            signed_form(&PAYLOAD.replace("HMAC-SHA256", "HMAC-SHA1")),
            401,
        ),
        ("signed_request=garbage".to_owned(), 400),
        ("nothing=here".to_owned(), 400),
        (
            signed_form(r#"{"algorithm":"HMAC-SHA256","issued_at":1}"#),
            400,
        ),
    ];
    for (form, status) in cases {
        for kind in ["deauthorize", "data-deletion"] {
            let response = post_callback(&app, kind, form.clone()).await;
            assert_eq!(response.status(), status, "{kind}: {form}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }
    }
    assert!(app.read_records(EVENTS, 0).await.is_empty());
    assert!(app.read_records(DELIVERIES, 0).await.is_empty());
}

#[tokio::test]
async fn data_deletion_without_a_public_base_url_is_refused_and_nothing_is_stored() {
    let app = spawn_app_with(|s| s.ingest.public_base_url = None).await;
    let response = post_callback(&app, "data-deletion", signed_form(PAYLOAD)).await;
    assert_eq!(response.status(), 404);
    assert!(app.read_records(EVENTS, 0).await.is_empty());
}
