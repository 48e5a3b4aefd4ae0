//! Ingest and processor together: a signed POST ends as rows and output records,
//! on the in-process cluster and SQLite by default, on the real broker and
//! PostgreSQL in CI.

use graphhook::commands::start_processor;
use graphhook_processor::store::Store;
use graphhook_processor::testing::test_database_url;
use graphhook_schema::account::{AccountState, Reason};
use graphhook_schema::output::{AccountTransitionRecord, DeadLetterRecord};
use graphhook_schema::topics::{
    headers, ACCOUNTS, DLQ, ENGAGEMENT, EVENTS, GRAPH_ERRORS, PUBLISH_STATUS,
};
use graphhook_schema::InboundEvent;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::Message;

use crate::helpers::{header, spawn_app_with, TestApp, APP_ID};

async fn pipeline() -> (TestApp, Store, tokio::sync::watch::Sender<bool>) {
    let database = test_database_url().await.expect("test database");
    let app = spawn_app_with(|s| {
        s.processor.database_url = database.clone();
        s.processor.group_id = format!("test-{}", uuid::Uuid::new_v4().simple());
    })
    .await;
    let stop = start_processor(&app.settings, &app.bus)
        .await
        .expect("processor starts")
        .stop;
    let store = Store::connect(&database, 2).await.expect("store");
    (app, store, stop)
}

async fn stored_state(store: &Store, account_id: &str) -> AccountState {
    let mut tx = store.begin().await.unwrap();
    let account = tx.account(APP_ID, account_id).await.unwrap();
    account.expect("account row").snapshot.state
}

/// Writes a record straight to one of the app's topics, as a client service would.
async fn write_raw(app: &TestApp, suffix: &str, key: &str, payload: &str) {
    let producer: FutureProducer =
        graphhook_kafka::producer_config(&app.settings.kafka, app.bus.bootstrap())
            .create()
            .unwrap();
    producer
        .send(
            FutureRecord::to(&app.topic(suffix))
                .key(key)
                .payload(payload),
            Timeout::Never,
        )
        .await
        .expect("record written");
}

const REVOKED: &str = r#"{"object":"permissions","entry":[{"id":"u1","time":1700000000,"changes":[{"field":"instagram_basic","value":{"verb":"revoked","target_ids":["17841400009"]}}]}]}"#;
const COMMENT: &str = r#"{"object":"instagram","entry":[{"id":"17841400009","time":1700000001,"changes":[{"field":"comments","value":{"id":"c1","text":"hi","from":{"id":"5"},"media":{"id":"m1"}}}]}]}"#;
const POST: &str = r#"{"object":"page","entry":[{"id":"p1","time":1700000002,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"p1_1","published":1,"created_time":1700000002}}]}]}"#;

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_posted_three_times_end_as_one_transition_and_one_record_per_effect() {
    let (app, store, stop) = pipeline().await;
    for _ in 0..3 {
        for body in [REVOKED, COMMENT, POST] {
            assert_eq!(app.post_signed(body).await.status(), 200);
        }
    }
    let accounts = app.read_records(ACCOUNTS, 1).await;
    assert_eq!(
        accounts.len(),
        1,
        "one transition however often the delivery came"
    );
    let transition: AccountTransitionRecord =
        serde_json::from_slice(accounts[0].payload().unwrap()).unwrap();
    assert_eq!(transition.to, AccountState::ReconnectRequired);
    assert_eq!(transition.app_id, APP_ID);
    assert_eq!(accounts[0].key(), Some(&b"17841400009"[..]));
    assert_eq!(
        header(&accounts[0], headers::EVENT_ID),
        Some(transition.source_event_id.as_str())
    );

    let events = app.read_records(EVENTS, 9).await;
    let revoked_ids: Vec<String> = events
        .iter()
        .map(|m| serde_json::from_slice::<InboundEvent>(m.payload().unwrap()).unwrap())
        .filter(|e| e.object == "permissions")
        .map(|e| e.event_id.to_string())
        .collect();
    assert!(revoked_ids
        .iter()
        .all(|id| *id == transition.source_event_id));

    assert_eq!(app.read_records(ENGAGEMENT, 1).await.len(), 1);
    assert_eq!(app.read_records(PUBLISH_STATUS, 1).await.len(), 1);
    assert_eq!(
        stored_state(&store, "17841400009").await,
        AccountState::ReconnectRequired
    );
    let _ = stop.send(true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_record_lands_in_the_dlq_and_processing_continues() {
    let (app, _store, stop) = pipeline().await;
    let topic = app.topic(EVENTS);
    write_raw(&app, EVENTS, "acct", "this is not an event").await;
    assert_eq!(app.post_signed(REVOKED).await.status(), 200);

    let dead = app.read_records(DLQ, 1).await;
    assert_eq!(dead.len(), 1);
    let record: DeadLetterRecord = serde_json::from_slice(dead[0].payload().unwrap()).unwrap();
    assert_eq!(record.source_topic, topic);
    assert_eq!(record.original_key.as_deref(), Some("acct"));
    assert_eq!(record.original_value_base64, "dGhpcyBpcyBub3QgYW4gZXZlbnQ=");
    assert!(record.error.contains("not an inbound event"));
    assert_eq!(
        app.read_records(ACCOUNTS, 1).await.len(),
        1,
        "the next record was processed"
    );
    let _ = stop.send(true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reported_token_error_flags_the_account() {
    let (app, store, stop) = pipeline().await;
    let report = r#"{"app_id":"1234567890","account_id":"17841400077","http_status":400,"code":190,"subcode":460,"message":"password changed","fbtrace_id":"x","time_ms":1700000000000}"#;
    write_raw(&app, GRAPH_ERRORS, "17841400077", report).await;
    let accounts = app.read_records(ACCOUNTS, 1).await;
    assert_eq!(accounts.len(), 1);
    let transition: AccountTransitionRecord =
        serde_json::from_slice(accounts[0].payload().unwrap()).unwrap();
    assert_eq!(
        (transition.to, transition.reason),
        (AccountState::ReconnectRequired, Reason::TokenInvalid)
    );
    assert_eq!(
        stored_state(&store, "17841400077").await,
        AccountState::ReconnectRequired
    );
    let _ = stop.send(true);
}
