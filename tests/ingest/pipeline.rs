//! Ingest and processor together: a signed POST ends as rows and output records,
//! on the in-process cluster and SQLite by default, on the real broker and
//! PostgreSQL in CI.

use graphhook_schema::account::{AccountState, Reason};
use graphhook_schema::output::{AccountTransitionRecord, DeadLetterRecord, EngagementRecord};
use graphhook_schema::topics::{
    headers, ACCOUNTS, DLQ, ENGAGEMENT, EVENTS, GRAPH_ERRORS, PUBLISH_STATUS,
};
use graphhook_schema::InboundEvent;
use rdkafka::Message;

use crate::harness::pipeline;
use crate::helpers::{header, APP_ID};

const REVOKED: &str = r#"{"object":"permissions","entry":[{"id":"u1","time":1700000000,"changes":[{"field":"instagram_basic","value":{"verb":"revoked","target_ids":["17841400009"]}}]}]}"#;
const COMMENT: &str = r#"{"object":"instagram","entry":[{"id":"17841400009","time":1700000001,"changes":[{"field":"comments","value":{"id":"c1","text":"hi","from":{"id":"5"},"media":{"id":"m1"}}}]}]}"#;
const POST: &str = r#"{"object":"page","entry":[{"id":"p1","time":1700000002,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"p1_1","published":1,"created_time":1700000002}}]}]}"#;

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_posted_three_times_end_as_one_transition_and_one_record_per_effect() {
    let p = pipeline().await;
    let app = &p.app;
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
        p.state("17841400009").await,
        Some(AccountState::ReconnectRequired)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_record_lands_in_the_dlq_and_processing_continues() {
    let p = pipeline().await;
    let app = &p.app;
    let topic = app.topic(EVENTS);
    p.write_raw(EVENTS, "acct", "this is not an event").await;
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
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reported_token_error_flags_the_account() {
    let p = pipeline().await;
    let app = &p.app;
    let report = r#"{"app_id":"1234567890","account_id":"17841400077","http_status":400,"code":190,"subcode":460,"message":"password changed","fbtrace_id":"x","time_ms":1700000000000}"#;
    p.write_raw(GRAPH_ERRORS, "17841400077", report).await;
    let accounts = app.read_records(ACCOUNTS, 1).await;
    assert_eq!(accounts.len(), 1);
    let transition: AccountTransitionRecord =
        serde_json::from_slice(accounts[0].payload().unwrap()).unwrap();
    assert_eq!(
        (transition.to, transition.reason),
        (AccountState::ReconnectRequired, Reason::TokenInvalid)
    );
    assert_eq!(
        p.state("17841400077").await,
        Some(AccountState::ReconnectRequired)
    );
}

/// Batches of four, each applied while the previous one's outputs are on their
/// way to Kafka: every account's engagement records still come out in the order
/// of its events, exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn outputs_keep_their_events_order_across_overlapping_batches() {
    let p = crate::harness::pipeline_with(|s| s.processor.batch_size = 4).await;
    let accounts = ["17841400101", "17841400102"];
    let entries: Vec<serde_json::Value> = (0..60)
        .map(|n| {
            serde_json::json!({"id": accounts[n % 2], "time": 1_700_000_000 + n, "changes": [
                {"field": "comments", "value": {"id": format!("c{n:03}"), "text": "hi", "from": {"id": "5"}, "media": {"id": "m1"}}}
            ]})
        })
        .collect();
    let body = serde_json::json!({"object": "instagram", "entry": entries}).to_string();
    p.deliver(&body).await;

    let records = p.app.read_records(ENGAGEMENT, 60).await;
    assert_eq!(records.len(), 60, "one record per comment");
    for account in accounts {
        let comments: Vec<String> = records
            .iter()
            .filter(|m| m.key() == Some(account.as_bytes()))
            .map(|m| serde_json::from_slice::<EngagementRecord>(m.payload().unwrap()).unwrap())
            .filter_map(|record| record.comment_id)
            .collect();
        let mut sorted = comments.clone();
        sorted.sort();
        assert_eq!(comments.len(), 30, "{account}");
        assert_eq!(comments, sorted, "{account}'s records in its events' order");
    }
}
