//! Handling events end to end against the store, on every engine.

mod support;

use graphhook_kafka::Topics;
use graphhook_processor::domain::ids::{AccountId, AppId};
use graphhook_processor::domain::plan::plan;
use graphhook_processor::pipeline::handler::handle_events;
use graphhook_processor::report::WorkReport;
use graphhook_processor::store::Store;
use graphhook_processor::testing::{apply_events, apply_graph_error};
use graphhook_processor::unit_of_work::UnitOfWork;
use graphhook_schema::account::AccountState;
use graphhook_schema::graph_error::ErrorClass;
use graphhook_schema::output::GraphErrorReport;
use graphhook_schema::{normalize_delivery, DeliveryContext, InboundEvent};
use support::stores;

const APP_ID: &str = "1";

fn events(body: &str, delivery_id: &str) -> Vec<InboundEvent> {
    let ctx = DeliveryContext {
        app: "main",
        app_id: APP_ID,
        delivery_id,
        received_at_ms: 1_700_000_000_000,
    };
    normalize_delivery(&ctx, body.as_bytes()).expect("normalizes")
}

/// Applies each event in a unit of work of its own; one report per event.
async fn handle_all(store: &Store, events: &[InboundEvent]) -> Vec<WorkReport> {
    let topics = Topics::new("t.");
    let mut reports = Vec::new();
    for event in events {
        let report = apply_events(store, &topics, std::slice::from_ref(event), 1)
            .await
            .unwrap();
        reports.push(report);
    }
    reports
}

fn duplicates(report: &WorkReport) -> u64 {
    report
        .events
        .iter()
        .filter(|((_, _, outcome), _)| *outcome == "duplicate")
        .map(|(_, n)| n)
        .sum()
}

/// The sum of per-event reports, as one batch's report would read.
fn total(reports: Vec<WorkReport>) -> WorkReport {
    let mut sum = WorkReport::default();
    for report in reports {
        sum.merge(report);
    }
    sum
}

async fn outbox_count(store: &Store, topic: &str) -> usize {
    let rows = store.pending_outbox(100_000).await.unwrap();
    rows.iter()
        .filter(|r| r.topic == format!("t.{topic}"))
        .count()
}

async fn state(store: &Store, account: &str) -> AccountState {
    let mut tx = store.begin().await.unwrap();
    tx.account(&AppId::from(APP_ID), &AccountId::from(account))
        .await
        .unwrap()
        .unwrap()
        .snapshot
        .state
}

async fn connect_user(store: &Store, user: &str, accounts: &[&str]) {
    let mut tx = store.begin().await.unwrap();
    for account in accounts {
        tx.set_account_user(&AppId::from(APP_ID), &AccountId::from(*account), user, 1)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

fn permission(verb: &str, time: i64, targets: &str) -> String {
    format!(
        r#"{{"object":"permissions","entry":[{{"id":"u1","time":{time},"changes":[{{"field":"instagram_basic","value":{{"verb":"{verb}"{targets}}}}}]}}]}}"#
    )
}

#[tokio::test]
async fn the_same_delivery_three_times_makes_one_transition_per_account_and_one_record_each() {
    for store in stores().await {
        connect_user(&store, "u1", &["a1", "a2"]).await;
        let body = permission("revoked", 1_700_000_000, "");
        for delivery in ["d1", "d2", "d3"] {
            handle_all(&store, &events(&body, delivery)).await;
        }
        assert_eq!(state(&store, "a1").await, AccountState::ReconnectRequired);
        assert_eq!(state(&store, "a2").await, AccountState::ReconnectRequired);
        assert_eq!(
            outbox_count(&store, "accounts.v1").await,
            2,
            "{:?}",
            store.engine()
        );
    }
}

#[tokio::test]
async fn a_late_grant_older_than_the_revocation_does_not_restore_the_account() {
    for store in stores().await {
        let revoked = permission("revoked", 1_700_000_200, r#","target_ids":["a1"]"#);
        let granted_earlier = permission("granted", 1_700_000_100, r#","target_ids":["a1"]"#);
        handle_all(&store, &events(&revoked, "d1")).await;
        let outcomes = handle_all(&store, &events(&granted_earlier, "d2")).await;
        assert_eq!(outcomes[0].transitions.len(), 0);
        assert_eq!(state(&store, "a1").await, AccountState::ReconnectRequired);
        let granted_later = permission("granted", 1_700_000_300, r#","target_ids":["a1"]"#);
        handle_all(&store, &events(&granted_later, "d3")).await;
        assert_eq!(state(&store, "a1").await, AccountState::Active);
        assert_eq!(outbox_count(&store, "accounts.v1").await, 2);
    }
}

#[tokio::test]
async fn a_thousand_comments_on_one_post_invalidate_once_until_refreshed() {
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        tx.write_fresh(&AppId::from(APP_ID), &AccountId::from("a1"), "m1", "{}", 1)
            .await
            .unwrap();
        tx.write_fresh(&AppId::from(APP_ID), &AccountId::from("a1"), "", "{}", 1)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let changes: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"field":"comments","value":{{"id":"c{i}","text":"t","from":{{"id":"f"}},"media":{{"id":"m1"}}}}}}"#))
            .collect();
        let body = format!(
            r#"{{"object":"instagram","entry":[{{"id":"a1","time":1700000000,"changes":[{}]}}]}}"#,
            changes.join(",")
        );
        let outcomes = total(handle_all(&store, &events(&body, "d1")).await);
        assert_eq!(outcomes.invalidations, 2, "media and account, once each");
        assert_eq!(outcomes.coalesced, 1998);
        assert_eq!(outbox_count(&store, "metrics-invalidations.v1").await, 2);
        assert_eq!(outbox_count(&store, "engagement.v1").await, 1000);
    }
}

#[tokio::test]
async fn story_insights_write_fresh_values_that_the_next_comment_invalidates() {
    for store in stores().await {
        let insights = r#"{"object":"instagram","entry":[{"id":"a1","time":1700000000,"changes":[{"field":"story_insights","value":{"media_id":"s1","reach":17,"impressions":28}}]}]}"#;
        let comment = r#"{"object":"instagram","entry":[{"id":"a1","time":1700000100,"changes":[{"field":"comments","value":{"id":"c1","media":{"id":"s1"}}}]}]}"#;
        handle_all(&store, &events(insights, "d1")).await;
        let outcomes = handle_all(&store, &events(comment, "d2")).await;
        assert_eq!(
            outcomes[0].invalidations, 1,
            "the media entry was fresh; the account entry was never fetched"
        );
        assert_eq!(outbox_count(&store, "engagement.v1").await, 2);
    }
}

#[tokio::test]
async fn page_posts_become_publish_status_and_callbacks_revoke_the_users_accounts() {
    for store in stores().await {
        let feed = r#"{"object":"page","entry":[{"id":"p1","time":1700000000,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"p1_1","published":1,"created_time":1700000000}}]}]}"#;
        handle_all(&store, &events(feed, "d1")).await;
        assert_eq!(outbox_count(&store, "publish-status.v1").await, 1);

        connect_user(&store, "u9", &["a5"]).await;
        let deauthorize = r#"{"object":"graphhook_callback","entry":[{"id":"u9","time":1700000500,"changes":[{"field":"deauthorize","value":{}}]}]}"#;
        handle_all(&store, &events(deauthorize, "d2")).await;
        assert_eq!(state(&store, "a5").await, AccountState::Revoked);
    }
}

#[tokio::test]
async fn in_one_batch_a_data_deletion_erases_the_page_posts_before_it_and_none_after_it() {
    let feed = |post: &str, time: i64| {
        format!(
            r#"{{"object":"page","entry":[{{"id":"p1","time":{time},"changes":[{{"field":"feed","value":{{"item":"status","verb":"add","post_id":"{post}","published":1,"created_time":{time}}}}}]}}]}}"#
        )
    };
    let deletion = r#"{"object":"graphhook_callback","entry":[{"id":"u9","time":1700000500,"changes":[{"field":"data_deletion","value":{"confirmation_code":"abc"}}]}]}"#;
    for store in stores().await {
        connect_user(&store, "u9", &["p1"]).await;
        let mut batch = events(&feed("p1_1", 1_700_000_000), "d1");
        batch.extend(events(deletion, "d2"));
        batch.extend(events(&feed("p1_2", 1_700_000_600), "d3"));
        batch.extend(events(&feed("p1_1", 1_700_000_000), "d4"));
        apply_events(&store, &Topics::new("t."), &batch, 1)
            .await
            .unwrap();
        let mut kept = Vec::new();
        for post in ["p1_1", "p1_2"] {
            kept.push((
                post,
                store
                    .page_post_published(&AppId::from(APP_ID), post)
                    .await
                    .unwrap(),
            ));
        }
        assert_eq!(
            kept,
            [("p1_1", false), ("p1_2", true)],
            "p1_1 was erased by the deletion after it (its repeat is the same event); p1_2 came after the deletion"
        );
        assert_eq!(outbox_count(&store, "publish-status.v1").await, 2);
    }
}

/// Everything a store holds that events change, comparable across stores: the
/// accounts with their transitions, Page posts, and the outbox in order per topic
/// and key (the order consumers see).
async fn holdings(store: &Store, accounts: &[&str], posts: &[&str]) -> String {
    let mut out = String::new();
    for account in accounts {
        let found = store
            .account_with_transitions(&AppId::from(APP_ID), &AccountId::from(*account), 100)
            .await
            .unwrap();
        out.push_str(&format!("{account}: {found:?}\n"));
    }
    for post in posts {
        let published = store
            .page_post_published(&AppId::from(APP_ID), post)
            .await
            .unwrap();
        out.push_str(&format!("{post}: {published}\n"));
    }
    let mut by_key: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for row in store.pending_outbox(100_000).await.unwrap() {
        by_key
            .entry((row.topic, row.key))
            .or_default()
            .push(row.payload);
    }
    out.push_str(&format!("{by_key:#?}"));
    out
}

#[tokio::test]
async fn a_run_of_events_in_one_batch_leaves_what_they_leave_one_at_a_time() {
    let feed = |post: &str, time: i64| {
        format!(
            r#"{{"object":"page","entry":[{{"id":"p1","time":{time},"changes":[{{"field":"feed","value":{{"item":"status","verb":"add","post_id":"{post}","published":1,"created_time":{time}}}}}]}}]}}"#
        )
    };
    let callback = |field: &str, time: i64| {
        format!(
            r#"{{"object":"graphhook_callback","entry":[{{"id":"u1","time":{time},"changes":[{{"field":"{field}","value":{{"confirmation_code":"c{time}"}}}}]}}]}}"#
        )
    };
    let comment = r#"{"object":"instagram","entry":[{"id":"a2","time":1700000320,"changes":[{"field":"comments","value":{"id":"c1","media":{"id":"m1"}}}]}]}"#;
    let bodies = [
        permission("revoked", 1_700_000_100, r#","target_ids":["a1"]"#),
        permission("granted", 1_700_000_200, r#","target_ids":["a1"]"#),
        permission("revoked", 1_700_000_300, r#","target_ids":["a1","a2"]"#),
        permission("granted", 1_700_000_250, r#","target_ids":["a2"]"#),
        feed("p1_1", 1_700_000_310),
        comment.to_owned(),
        permission("granted", 1_700_000_400, ""),
        callback("data_deletion", 1_700_000_500),
        permission("granted", 1_700_000_600, r#","target_ids":["a2"]"#),
        feed("p1_2", 1_700_000_610),
        callback("deauthorize", 1_700_000_700),
        permission("revoked", 1_700_000_800, r#","target_ids":["a3","a3"]"#),
    ];
    let mut all = Vec::new();
    for (n, body) in bodies.iter().enumerate() {
        all.extend(events(body, &format!("d{n}")));
    }
    let accounts = ["a1", "a2", "a3", "p1"];
    let posts = ["p1_1", "p1_2"];
    for (one_at_a_time, in_one_batch) in stores().await.into_iter().zip(stores().await) {
        for store in [&one_at_a_time, &in_one_batch] {
            connect_user(store, "u1", &["a1", "a2", "p1"]).await;
        }
        let reports = handle_all(&one_at_a_time, &all).await;
        let batch = apply_events(&in_one_batch, &Topics::new("t."), &all, 1)
            .await
            .unwrap();
        let expected = holdings(&one_at_a_time, &accounts, &posts).await;
        assert_eq!(holdings(&in_one_batch, &accounts, &posts).await, expected);
        assert_eq!(batch.transitions, total(reports).transitions);
        assert!(
            expected.contains("delete_data") && expected.contains("p1_2: true"),
            "the scenario goes through the erasure and on: {expected}"
        );
    }
}

#[tokio::test]
async fn a_rolled_back_event_leaves_nothing_and_can_be_handled_again() {
    for store in stores().await {
        let body = permission("revoked", 1_700_000_000, r#","target_ids":["a1"]"#);
        let event = &events(&body, "d1")[0];
        let topics = Topics::new("t.");
        let mut uow = UnitOfWork::begin(&store, &topics, 1).await.unwrap();
        let planned = [(event.clone(), plan(event).unwrap())];
        handle_events(&mut uow, &planned).await.unwrap();
        drop(uow);
        assert_eq!(store.pending_outbox(10).await.unwrap().len(), 0);
        let outcomes = handle_all(&store, std::slice::from_ref(event)).await;
        assert_eq!(duplicates(&outcomes[0]), 0);
        assert_eq!(outcomes[0].transitions.len(), 1);
    }
}

fn report(code: i64, subcode: Option<i64>, time_ms: i64) -> GraphErrorReport {
    GraphErrorReport {
        app_id: APP_ID.to_owned(),
        account_id: "a7".to_owned(),
        http_status: Some(400),
        code: Some(code),
        subcode,
        is_transient: None,
        message: Some("Error validating access token".to_owned()),
        fbtrace_id: Some("AbC".to_owned()),
        time_ms,
    }
}

#[tokio::test]
async fn reconnect_class_graph_errors_flag_the_account_once_and_others_are_only_classified() {
    for store in stores().await {
        let topics = Topics::new("t.");
        let class = |report: &WorkReport, class: ErrorClass| {
            report
                .graph_errors
                .get(class.as_str())
                .copied()
                .unwrap_or(0)
        };
        let throttled = apply_graph_error(&store, &topics, &report(4, None, 10), "g1", 1)
            .await
            .unwrap();
        assert_eq!(
            (
                class(&throttled, ErrorClass::Wait),
                throttled.transitions.len()
            ),
            (1, 0)
        );
        let expired = apply_graph_error(&store, &topics, &report(190, Some(463), 20), "g2", 1)
            .await
            .unwrap();
        assert_eq!(
            (
                class(&expired, ErrorClass::Reconnect),
                expired.transitions.len()
            ),
            (1, 1)
        );
        let again = apply_graph_error(&store, &topics, &report(190, Some(463), 20), "g2", 1)
            .await
            .unwrap();
        assert!(
            again.graph_errors.is_empty() && again.transitions.is_empty(),
            "a redelivered report changes nothing"
        );
        let later = apply_graph_error(&store, &topics, &report(190, Some(460), 30), "g3", 1)
            .await
            .unwrap();
        assert_eq!(later.transitions.len(), 0, "already flagged");
        assert_eq!(state(&store, "a7").await, AccountState::ReconnectRequired);
        assert_eq!(outbox_count(&store, "accounts.v1").await, 1);
    }
}

#[tokio::test]
async fn a_repeated_or_late_feed_event_writes_no_second_publish_status() {
    for store in stores().await {
        let feed = |verb: &str, time: i64| {
            format!(
                r#"{{"object":"page","entry":[{{"id":"p1","time":{time},"changes":[{{"field":"feed","value":{{"item":"photo","verb":"{verb}","post_id":"p1_9","published":1,"created_time":{time}}}}}]}}]}}"#
            )
        };
        handle_all(&store, &events(&feed("add", 1_700_000_000), "d1")).await;
        handle_all(&store, &events(&feed("remove", 1_700_000_500), "d2")).await;
        handle_all(&store, &events(&feed("edited", 1_700_000_200), "d3")).await;
        assert_eq!(
            outbox_count(&store, "publish-status.v1").await,
            2,
            "an edit older than the removal is not news"
        );
    }
}

#[tokio::test]
async fn a_mixed_batch_has_the_effects_of_its_events_handled_one_at_a_time() {
    let comment = |id: &str, account: &str, media: &str, time: i64| {
        format!(
            r#"{{"object":"instagram","entry":[{{"id":"{account}","time":{time},"changes":[{{"field":"comments","value":{{"id":"{id}","media":{{"id":"{media}"}}}}}}]}}]}}"#
        )
    };
    let insights = r#"{"object":"instagram","entry":[{"id":"a1","time":1700000005,"changes":[{"field":"story_insights","value":{"media_id":"m2","impressions":7}}]}]}"#;
    let feed = r#"{"object":"page","entry":[{"id":"p1","time":1700000006,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"p1_1","published":1}}]}]}"#;
    let mut all = Vec::new();
    for (i, body) in [
        comment("c1", "a1", "m1", 1_700_000_001),
        comment("c2", "a1", "m1", 1_700_000_002),
        comment("c3", "a2", "m1", 1_700_000_003),
        permission("revoked", 1_700_000_004, r#","target_ids":["a2"]"#),
        insights.to_owned(),
        comment("c4", "a1", "m2", 1_700_000_007),
        feed.to_owned(),
        comment("c1", "a1", "m1", 1_700_000_001),
    ]
    .iter()
    .enumerate()
    {
        all.extend(events(body, &format!("d{i}")));
    }
    let topics = Topics::new("t.");
    let mut results = Vec::new();
    for batched in [false, true] {
        let store = stores().await.remove(0);
        let mut tx = store.begin().await.unwrap();
        tx.write_fresh(
            &AppId::from(APP_ID),
            &AccountId::from("a1"),
            "m1",
            r#"{"likes":1}"#,
            1,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let outcomes = if batched {
            apply_events(&store, &topics, &all, 1).await.unwrap()
        } else {
            total(handle_all(&store, &all).await)
        };
        let outputs: Vec<(String, String)> = store
            .pending_outbox(1_000)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.topic, r.payload))
            .collect();
        let m1 = store
            .metrics_entry(&AppId::from(APP_ID), &AccountId::from("a1"), "m1")
            .await
            .unwrap();
        let m2 = store
            .metrics_entry(&AppId::from(APP_ID), &AccountId::from("a1"), "m2")
            .await
            .unwrap();
        results.push((outcomes, outputs, m1, m2, state(&store, "a2").await));
    }
    let (one_at_a_time, batched) = (&results[0], &results[1]);
    assert_eq!(
        batched.0.events, one_at_a_time.0.events,
        "events by outcome"
    );
    assert_eq!(batched.0.transitions, one_at_a_time.0.transitions);
    assert_eq!(
        (batched.0.invalidations, batched.0.coalesced),
        (one_at_a_time.0.invalidations, one_at_a_time.0.coalesced)
    );
    assert_eq!(batched.2, one_at_a_time.2, "media m1");
    assert_eq!(batched.3, one_at_a_time.3, "media m2");
    assert_eq!(batched.4, AccountState::ReconnectRequired);
    let by_topic = |outputs: &[(String, String)], topic: &str| -> Vec<String> {
        outputs
            .iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, p)| p.clone())
            .collect()
    };
    for topic in [
        "t.engagement.v1",
        "t.metrics-invalidations.v1",
        "t.accounts.v1",
        "t.publish-status.v1",
    ] {
        assert_eq!(
            by_topic(&batched.1, topic),
            by_topic(&one_at_a_time.1, topic),
            "{topic}"
        );
    }
    assert_eq!(
        by_topic(&batched.1, "t.metrics-invalidations.v1").len(),
        2,
        "m1 once, m2 after its insights"
    );
    assert_eq!(duplicates(&batched.0), 1, "the repeated comment");
    assert!(!batched.2.as_ref().unwrap().fresh);
    assert!(!batched.3.as_ref().unwrap().fresh);
}
