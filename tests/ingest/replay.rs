//! `graphhook replay`: stored deliveries and dead-lettered records re-driven, and
//! idempotency making that harmless.

use graphhook_ingest::apps::AppRegistry;
use graphhook_ingest::replay::{replay_dead_letters, replay_deliveries, DeliveryFilter, TimeRange};
use graphhook_schema::time::now_millis;
use graphhook_schema::topics::{ACCOUNTS, DLQ, ENGAGEMENT, EVENTS};
use rdkafka::Message;
use serde_json::json;

use crate::harness::pipeline;
use crate::helpers::metric_value;

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_posted_three_times_then_replayed_make_one_transition_and_one_record_per_effect()
{
    let p = pipeline().await;
    let started = now_millis();
    let revoked = json!({"object":"permissions","entry":[{"id":"u1","time":1_700_000_000,"changes":[{"field":"instagram_basic","value":{"verb":"revoked","target_ids":["17841400031"]}}]}]}).to_string();
    let comment = json!({"object":"instagram","entry":[{"id":"17841400031","time":1_700_000_001,"changes":[{"field":"comments","value":{"id":"c1","media":{"id":"m1"}}}]}]}).to_string();
    for _ in 0..3 {
        for body in [&revoked, &comment] {
            p.deliver(body).await;
        }
    }
    let payload = r#"{"algorithm":"HMAC-SHA256","issued_at":1700000500,"user_id":"218471"}"#;
    p.callback("data-deletion", payload).await;
    p.processed(3).await;

    let apps = AppRegistry::new(&p.app.settings.apps);
    let filter = DeliveryFilter {
        range: TimeRange {
            from_ms: started - 1_000,
            to_ms: now_millis() + 1_000,
        },
        app: Some("main"),
        public_base_url: p.app.settings.ingest.public_base_url.as_ref(),
        apps: &apps,
    };
    let report = replay_deliveries(&p.app.settings.kafka, p.app.bus.bootstrap(), filter)
        .await
        .expect("replay runs");
    assert_eq!(report.read, 7);
    assert_eq!(report.written.get(&p.app.topic(EVENTS)), Some(&7));
    assert!(report.skipped.is_empty(), "{report}");

    let other_app = DeliveryFilter {
        app: Some("other"),
        ..filter
    };
    let skipped = replay_deliveries(&p.app.settings.kafka, p.app.bus.bootstrap(), other_app)
        .await
        .expect("replay runs");
    assert_eq!(
        (skipped.read, skipped.skipped.get("another app")),
        (7, Some(&7))
    );
    assert!(skipped.written.is_empty());

    let events = p.app.read_records(EVENTS, 14).await;
    assert_eq!(events.len(), 14, "7 original + 7 replayed");
    p.eventually("replayed events consumed", || async {
        p.get("/metrics").await.text().await.unwrap().contains(
            r#"graphhook_processor_events_total{field="comments",object="instagram",outcome="duplicate"} 5"#,
        )
    })
    .await;
    assert_eq!(
        p.app.read_records(ACCOUNTS, 1).await.len(),
        1,
        "one transition"
    );
    assert_eq!(
        p.app.read_records(ENGAGEMENT, 1).await.len(),
        1,
        "one engagement record"
    );
    assert_eq!(p.count("SELECT COUNT(*) FROM processed_events").await, 3);
    assert_eq!(p.count("SELECT COUNT(*) FROM deletion_requests").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_lettered_records_are_written_back_to_their_topic_as_they_were() {
    let p = pipeline().await;
    let started = now_millis();
    // Two dead letters, as close together as they come: on a broker whose high
    // watermark ends inside the last record batch (tansu 0.6), a replay that
    // trusted the watermark read only the first.
    p.write_raw(EVENTS, "acct-9", "{not json").await;
    p.write_raw(EVENTS, "acct-9", "{not json either").await;
    assert_eq!(p.app.read_records(DLQ, 2).await.len(), 2);

    let range = TimeRange {
        from_ms: started - 1_000,
        to_ms: now_millis() + 1_000,
    };
    let report = replay_dead_letters(&p.app.settings.kafka, p.app.bus.bootstrap(), range)
        .await
        .expect("replay runs");
    assert_eq!(report.read, 2, "{report}");
    assert_eq!(report.written.get(&p.app.topic(EVENTS)), Some(&2));
    let summary = report.to_string();
    assert!(summary.contains("skipped: 0"), "{summary}");
    assert!(summary.contains("(the end of the log)"), "{summary}");

    let events = p.app.read_records(EVENTS, 4).await;
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|m| m.key() == Some(&b"acct-9"[..])
        && m.payload().is_some_and(|v| v.starts_with(b"{not json"))));
    p.eventually("the re-driven record recognised", || async {
        metric_value(
            &p.get("/metrics").await.text().await.unwrap(),
            &format!(
                r#"graphhook_processor_dead_letters_total{{cause="repeated",source_topic="{}"}}"#,
                p.app.topic(EVENTS)
            ),
        ) == 2.0
    })
    .await;
    let dead = p.app.read_records(DLQ, 2).await;
    assert_eq!(
        dead.len(),
        2,
        "still unprocessable, and recognised as dead-lettered already: no new records"
    );
    p.deliver(r#"{"object":"instagram","entry":[{"id":"acct-9","time":1700000000,"changes":[{"field":"mentions","value":{"media_id":"m1"}}]}]}"#).await;
    p.processed(2).await;
}
