//! Applying consumed records as the consumer does: a record the database refuses
//! for its content is found by splitting the batch, dead-lettered alone, and the
//! records around it are applied; read again, it is recognised, not dead-lettered
//! twice. On every engine.

mod support;

use graphhook_kafka::Topics;
use graphhook_processor::pipeline::batch::{apply_batch, BatchProgress};
use graphhook_processor::store::{Engine, Store};
use graphhook_schema::output::DeadLetterRecord;
use graphhook_schema::{normalize_delivery, DeliveryContext};
use rdkafka::message::OwnedMessage;
use rdkafka::Timestamp;
use support::stores;

const EVENTS: &str = "t.events.v1";

/// An `events.v1` record of one comment on `account`'s media, at `offset`.
fn comment(account: &str, offset: i64) -> OwnedMessage {
    let body = serde_json::json!({"object": "instagram", "entry": [{"id": account, "time": 1_700_000_000,
        "changes": [{"field": "comments", "value": {"id": format!("c{offset}"), "media": {"id": "m1"}}}]}]})
    .to_string();
    let ctx = DeliveryContext {
        app: "main",
        app_id: "1",
        delivery_id: "d",
        received_at_ms: 1,
    };
    let event = normalize_delivery(&ctx, body.as_bytes()).unwrap().remove(0);
    OwnedMessage::new(
        Some(event.to_json().unwrap()),
        Some(account.as_bytes().to_vec()),
        EVENTS.to_owned(),
        Timestamp::NotAvailable,
        0,
        offset,
        None,
    )
}

/// Makes the database itself refuse to store the account `poison`: a check
/// constraint on PostgreSQL, a trigger on SQLite.
async fn refuse_poison(store: &Store) {
    let sql = match store.engine() {
        Engine::Postgres => {
            "ALTER TABLE accounts ADD CONSTRAINT refuse_poison CHECK (account_id <> 'poison')"
        }
        Engine::Sqlite => {
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON accounts WHEN NEW.account_id = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
        }
    };
    store.execute_for_tests(sql).await.unwrap();
}

async fn dead_letters(store: &Store) -> Vec<DeadLetterRecord> {
    store
        .pending_outbox(1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.topic == "t.dlq.v1")
        .map(|row| serde_json::from_str(&row.payload).unwrap())
        .collect()
}

#[tokio::test]
async fn a_record_the_database_refuses_is_dead_lettered_alone_and_the_records_around_it_applied() {
    for store in stores().await {
        refuse_poison(&store).await;
        let topics = Topics::new("t.");
        let batch: Vec<OwnedMessage> = (0..9)
            .map(|i| comment(if i == 5 { "poison" } else { "a1" }, i))
            .collect();
        let mut progress = BatchProgress::default();
        apply_batch(&store, &topics, &batch, &mut progress, 1)
            .await
            .expect("a refused record is not a failure of the batch");
        assert_eq!(progress.next, 9);
        let engine = store.engine();
        let dead = dead_letters(&store).await;
        assert_eq!(dead.len(), 1, "{engine:?}");
        assert_eq!((dead[0].partition, dead[0].offset), (0, 5));
        assert!(
            dead[0]
                .error
                .starts_with("the database refused its content"),
            "{}",
            dead[0].error
        );
        assert!(!dead[0].record_id.is_empty() && !dead[0].source_event_id.is_empty());
        let engagement = store.pending_outbox(1_000).await.unwrap();
        assert_eq!(
            engagement
                .iter()
                .filter(|r| r.topic == "t.engagement.v1")
                .count(),
            8,
            "every other record applied"
        );
        assert_eq!(
            progress.report.dead_letters[&(EVENTS.to_owned(), "refused_by_database")],
            1
        );

        // Read again (a replay, another consumer group): recognised, not repeated.
        let mut again = BatchProgress::default();
        apply_batch(&store, &topics, &batch, &mut again, 2)
            .await
            .unwrap();
        assert_eq!(dead_letters(&store).await.len(), 1, "{engine:?}");
        assert_eq!(
            again.report.dead_letters[&(EVENTS.to_owned(), "repeated")],
            1
        );
    }
}

#[tokio::test]
async fn unreadable_records_and_rejected_ids_are_dead_lettered_in_the_batch() {
    for store in stores().await {
        let topics = Topics::new("t.");
        let not_json = OwnedMessage::new(
            Some(b"{not json".to_vec()),
            Some(b"k".to_vec()),
            EVENTS.to_owned(),
            Timestamp::NotAvailable,
            0,
            1,
            None,
        );
        let batch = vec![
            comment("a1", 0),
            not_json,
            comment("a\u{0}1", 2),
            comment("a1", 3),
        ];
        let mut progress = BatchProgress::default();
        apply_batch(&store, &topics, &batch, &mut progress, 1)
            .await
            .unwrap();
        let dead = dead_letters(&store).await;
        let reasons: Vec<&str> = dead.iter().map(|d| d.error.as_str()).collect();
        assert_eq!(dead.len(), 2, "{reasons:?}");
        assert!(
            reasons[0].starts_with("not an inbound event: syntax"),
            "{reasons:?}"
        );
        assert_eq!(reasons[1], "account id contains a NUL character");
        assert_eq!(
            dead[1].original_key.as_deref(),
            Some("a\u{0}1"),
            "the original key is kept in the record"
        );
        assert_eq!(
            store.processed_event_count().await.unwrap(),
            2 + 2,
            "two events and two dead-letter claims"
        );
    }
}
