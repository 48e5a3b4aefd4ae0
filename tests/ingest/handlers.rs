//! Every handler end to end: a signed POST to ingest ends as the expected rows,
//! output records and HTTP answers of the processor.

use graphhook_schema::account::AccountState;
use graphhook_schema::output::{
    AccountTransitionRecord, EngagementKind, EngagementRecord, MetricsInvalidationRecord,
    PublishStatus, PublishStatusRecord,
};
use graphhook_schema::topics::{ACCOUNTS, ENGAGEMENT, METRICS_INVALIDATIONS, PUBLISH_STATUS};
use rdkafka::Message;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::pipeline;
use crate::helpers::APP_ID;

const ACCOUNT: &str = "17841400001";

fn instagram(field: &str, time: i64, value: Value) -> String {
    json!({"object":"instagram","entry":[{"id":ACCOUNT,"time":time,"changes":[{"field":field,"value":value}]}]}).to_string()
}

fn permissions(verb: &str, time: i64, targets: &[&str]) -> String {
    json!({"object":"permissions","entry":[{"id":"u1","time":time,"changes":[{"field":"instagram_basic","value":{"verb":verb,"target_ids":targets}}]}]}).to_string()
}

fn parse<T: serde::de::DeserializeOwned>(records: &[rdkafka::message::OwnedMessage]) -> Vec<T> {
    records
        .iter()
        .map(|m| serde_json::from_slice(m.payload().expect("value")).expect("record parses"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn engagement_becomes_records_and_invalidates_fresh_metrics_once() {
    let p = pipeline().await;
    let metrics_path = format!("/v1/apps/{APP_ID}/accounts/{ACCOUNT}/media/m1/metrics");
    let fresh = p
        .admin(Method::PUT, &metrics_path)
        .json(&json!({"values": {"like_count": 10, "comments_count": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
    for i in 0..20 {
        let comment = instagram(
            "comments",
            1_700_000_000 + i,
            json!({"id": format!("c{i}"), "text": "secret text", "from": {"id": "5"}, "media": {"id": "m1"}}),
        );
        p.deliver(&comment).await;
    }
    let others = [
        instagram("live_comments", 1_700_000_100, json!({"id":"lc1","text":"x","from":{"id":"6"},"media":{"id":"live1"}})),
        instagram("mentions", 1_700_000_101, json!({"media_id":"m9","comment_id":"c99"})),
        instagram("story_insights", 1_700_000_102, json!({"media_id":"s1","impressions":44,"reach":40,"exits":2})),
        json!({"object":"instagram","entry":[{"id":ACCOUNT,"time":1_700_000_103,"messaging":[{"sender":{"id":"5"},"recipient":{"id":ACCOUNT},"timestamp":1_700_000_103_000_i64,"reaction":{"mid":"mid.1","action":"react","reaction":"love"}}]}]}).to_string(),
        json!({"object":"instagram","entry":[{"id":ACCOUNT,"time":1_700_000_104,"messaging":[{"sender":{"id":"5"},"recipient":{"id":ACCOUNT},"timestamp":1_700_000_104_000_i64,"message":{"mid":"mid.2","text":"private words"}}]}]}).to_string(),
    ];
    for body in &others {
        p.deliver(body).await;
    }

    let engagement: Vec<EngagementRecord> = parse(&p.app.read_records(ENGAGEMENT, 25).await);
    assert_eq!(engagement.len(), 25);
    let kinds = |kind| engagement.iter().filter(|r| r.kind == kind).count();
    assert_eq!(kinds(EngagementKind::Comment), 20);
    for kind in [
        EngagementKind::LiveComment,
        EngagementKind::Mention,
        EngagementKind::StoryInsights,
        EngagementKind::Reaction,
        EngagementKind::Message,
    ] {
        assert_eq!(kinds(kind), 1, "{kind:?}");
    }
    let reaction = engagement
        .iter()
        .find(|r| r.kind == EngagementKind::Reaction)
        .unwrap();
    assert_eq!(reaction.reaction.as_deref(), Some("love"));
    let raw = serde_json::to_string(&engagement).unwrap();
    assert!(!raw.contains("secret text") && !raw.contains("private words"));

    let invalidations: Vec<MetricsInvalidationRecord> =
        parse(&p.app.read_records(METRICS_INVALIDATIONS, 1).await);
    assert_eq!(
        invalidations.len(),
        1,
        "20 comments on fresh media metrics write one invalidation (the account's entry was never fetched)"
    );
    assert_eq!(invalidations[0].media_id.as_deref(), Some("m1"));

    let media: Value = p.admin_get(&metrics_path).await;
    assert_eq!(media["fresh"], false);
    assert_eq!(media["values"]["like_count"], 10);
    let story: Value = p
        .admin_get(&format!(
            "/v1/apps/{APP_ID}/accounts/{ACCOUNT}/media/s1/metrics"
        ))
        .await;
    assert_eq!(
        (
            story["fresh"].clone(),
            story["values"]["impressions"].clone()
        ),
        (json!(true), json!(44))
    );

    let exposition = p.get("/metrics").await.text().await.unwrap();
    assert!(exposition.contains(r#"graphhook_processor_invalidations_total{outcome="written"} 1"#));
    // 19 repeat comments on m1, 20 on the never-fetched account entry, the live
    // comment's media and account, the mention's account.
    assert!(
        exposition.contains(r#"graphhook_processor_invalidations_total{outcome="coalesced"} 42"#),
        "{exposition}"
    );
    assert!(exposition.contains(r#"graphhook_processor_events_total{field="comments",object="instagram",outcome="applied"} 20"#));
    assert!(exposition.contains("graphhook_processor_webhook_to_commit_seconds_count 25"));
}

#[tokio::test(flavor = "multi_thread")]
async fn permissions_follow_event_time_not_arrival_order() {
    let p = pipeline().await;
    // The grant happened before the revocation but arrives after it.
    p.deliver(&permissions("revoked", 1_700_000_200, &[ACCOUNT]))
        .await;
    p.deliver(&permissions("granted", 1_700_000_100, &[ACCOUNT]))
        .await;
    p.processed(2).await;
    assert_eq!(
        p.state(ACCOUNT).await,
        Some(AccountState::ReconnectRequired)
    );
    // A later grant restores it.
    p.deliver(&permissions("granted", 1_700_000_300, &[ACCOUNT]))
        .await;
    let transitions: Vec<AccountTransitionRecord> = parse(&p.app.read_records(ACCOUNTS, 2).await);
    let states: Vec<_> = transitions.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        states,
        [
            (AccountState::Active, AccountState::ReconnectRequired),
            (AccountState::ReconnectRequired, AccountState::Active)
        ]
    );
    assert_eq!(p.state(ACCOUNT).await, Some(AccountState::Active));
}

#[tokio::test(flavor = "multi_thread")]
async fn deauthorize_revokes_every_account_the_user_connected() {
    let p = pipeline().await;
    for account in ["17841400011", "17841400012"] {
        let registered = p
            .admin(
                Method::PUT,
                &format!("/v1/apps/{APP_ID}/accounts/{account}"),
            )
            .json(&json!({"user_id": "218471", "tenant": "acme"}))
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), 200);
    }
    let payload = r#"{"algorithm":"HMAC-SHA256","issued_at":1700000000,"user_id":"218471"}"#;
    p.callback("deauthorize", payload).await;
    let transitions: Vec<AccountTransitionRecord> = parse(&p.app.read_records(ACCOUNTS, 2).await);
    assert_eq!(transitions.len(), 2);
    assert!(transitions.iter().all(|t| t.to == AccountState::Revoked));
    for account in ["17841400011", "17841400012"] {
        assert_eq!(p.state(account).await, Some(AccountState::Revoked));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn data_deletion_revokes_erases_and_reports_its_status_by_code() {
    let p = pipeline().await;
    let registered = p
        .admin(
            Method::PUT,
            &format!("/v1/apps/{APP_ID}/accounts/{ACCOUNT}"),
        )
        .json(&json!({"user_id": "218471", "page_id": "p77", "tenant": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 200);
    let comment = instagram(
        "comments",
        1_700_000_000,
        json!({"id":"c1","media":{"id":"m1"}}),
    );
    p.deliver(&comment).await;
    p.eventually("comment applied", || async {
        p.count("SELECT COUNT(*) FROM metrics_cache").await == 2
    })
    .await;

    let payload = r#"{"algorithm":"HMAC-SHA256","issued_at":1700000500,"user_id":"218471"}"#;
    let answer: Value = p
        .callback("data-deletion", payload)
        .await
        .json()
        .await
        .unwrap();
    let code = answer["confirmation_code"].as_str().unwrap().to_owned();
    let status_path = format!("/data-deletion/{code}");
    p.eventually("deletion carried out", || async {
        p.get(&status_path).await.status() == 200
    })
    .await;
    let status: Value = p.get(&status_path).await.json().await.unwrap();
    assert_eq!(status["status"], "completed");
    assert_eq!(status["accounts"], 1);
    assert_eq!(status["requested_at_ms"], 1_700_000_500_000_i64);

    assert_eq!(p.state(ACCOUNT).await, Some(AccountState::Revoked));
    assert_eq!(p.count("SELECT COUNT(*) FROM metrics_cache").await, 0);
    assert_eq!(p.count("SELECT COUNT(*) FROM accounts WHERE user_id IS NOT NULL OR tenant IS NOT NULL OR page_id IS NOT NULL").await, 0);
    let transitions: Vec<AccountTransitionRecord> = parse(&p.app.read_records(ACCOUNTS, 1).await);
    assert_eq!(transitions.len(), 1);
    assert_eq!(
        serde_json::to_value(transitions[0].action).unwrap(),
        "delete_data"
    );
    let unknown = p.get("/data-deletion/0000000000").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn page_feed_changes_become_publish_status_records() {
    let p = pipeline().await;
    let feed = |verb: &str, time: i64, published: i64| {
        json!({"object":"page","entry":[{"id":"p1","time":time,"changes":[{"field":"feed","value":{"item":"status","verb":verb,"post_id":"p1_1","published":published,"created_time":time}}]}]}).to_string()
    };
    for body in [
        feed("add", 1_700_000_000, 1),
        feed("edited", 1_700_000_010, 1),
        feed("remove", 1_700_000_020, 1),
    ] {
        p.deliver(&body).await;
    }
    let statuses: Vec<PublishStatusRecord> = parse(&p.app.read_records(PUBLISH_STATUS, 3).await);
    let seen: Vec<PublishStatus> = statuses.iter().map(|s| s.status).collect();
    assert_eq!(
        seen,
        [
            PublishStatus::Published,
            PublishStatus::Edited,
            PublishStatus::Removed
        ]
    );
    assert_eq!(
        p.count("SELECT COUNT(*) FROM page_posts WHERE status = 'removed'")
            .await,
        1
    );
}
