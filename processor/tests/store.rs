//! The store's behaviour on every engine: SQLite always, PostgreSQL when
//! `DATABASE_URL` is set (each test in a fresh database of its own).

use graphhook_processor::domain::account::{apply, Snapshot, Trigger};
use graphhook_processor::domain::ids::{AccountId, AppId};
use graphhook_schema::account::{AccountState, Reason};
mod support;

use graphhook_processor::store::OutboxEntry;

use support::{connect, databases, stores};

#[tokio::test]
async fn an_event_is_claimed_once_and_a_rolled_back_claim_is_forgotten() {
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.claim_event("e1", 1).await.unwrap(),
            "{:?}",
            store.engine()
        );
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.claim_event("e1", 2).await.unwrap(),
            "rolled back, so claimable again"
        );
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.claim_event("e1", 3).await.unwrap(),
            "committed, so never again"
        );
    }
}

#[tokio::test]
async fn accounts_are_created_active_and_transitions_are_stored() {
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        let account = tx
            .ensure_account(&AppId::from("1"), &AccountId::from("1784"), 10)
            .await
            .unwrap();
        assert_eq!(account.snapshot.state, AccountState::Active);
        assert_eq!(account.snapshot, Snapshot::new_account());
        let transition = apply(account.snapshot, Trigger::PermissionRevoked, 500).unwrap();
        tx.save_transition(
            &AppId::from("1"),
            &AccountId::from("1784"),
            &transition,
            "e9",
            20,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let stored = tx
            .account(&AppId::from("1"), &AccountId::from("1784"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.snapshot.state, AccountState::ReconnectRequired);
        assert_eq!(stored.snapshot.reason, Some(Reason::PermissionRevoked));
        assert_eq!(stored.snapshot.changed_at_ms, 500);
        assert_eq!(
            tx.ensure_account(&AppId::from("1"), &AccountId::from("1784"), 30)
                .await
                .unwrap(),
            stored,
            "existing accounts are left alone"
        );
        assert!(tx
            .account(&AppId::from("1"), &AccountId::from("other"))
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn a_users_accounts_are_found_by_user_id() {
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        tx.set_account_user(&AppId::from("1"), &AccountId::from("b"), "u1", 1)
            .await
            .unwrap();
        tx.set_account_user(&AppId::from("1"), &AccountId::from("a"), "u1", 1)
            .await
            .unwrap();
        tx.set_account_user(&AppId::from("1"), &AccountId::from("c"), "u2", 1)
            .await
            .unwrap();
        tx.set_account_user(&AppId::from("2"), &AccountId::from("d"), "u1", 1)
            .await
            .unwrap();
        assert_eq!(
            tx.accounts_of_user(&AppId::from("1"), "u1").await.unwrap(),
            ["a", "b"]
        );
        assert!(tx
            .accounts_of_user(&AppId::from("1"), "nobody")
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn a_burst_invalidates_fresh_metrics_once_until_they_are_refreshed() {
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.mark_stale(&AppId::from("1"), &AccountId::from("a"), "m1", 1)
                .await
                .unwrap(),
            "nothing cached: nothing to invalidate"
        );
        tx.write_fresh(
            &AppId::from("1"),
            &AccountId::from("a"),
            "m1",
            r#"{"likes":3}"#,
            2,
        )
        .await
        .unwrap();
        assert!(
            tx.mark_stale(&AppId::from("1"), &AccountId::from("a"), "m1", 3)
                .await
                .unwrap(),
            "fresh -> stale"
        );
        for at in 4..1004 {
            assert!(
                !tx.mark_stale(&AppId::from("1"), &AccountId::from("a"), "m1", at)
                    .await
                    .unwrap(),
                "already stale"
            );
        }
        tx.write_fresh(
            &AppId::from("1"),
            &AccountId::from("a"),
            "m1",
            r#"{"likes":9}"#,
            2000,
        )
        .await
        .unwrap();
        assert!(
            tx.mark_stale(&AppId::from("1"), &AccountId::from("a"), "m1", 2001)
                .await
                .unwrap(),
            "refreshed, so invalidated again"
        );
        assert!(
            !tx.mark_stale(&AppId::from("1"), &AccountId::from("a"), "", 2001)
                .await
                .unwrap(),
            "account metrics are a separate entry"
        );
    }
}

#[tokio::test]
async fn the_outbox_keeps_committed_records_in_order_until_deleted() {
    for store in stores().await {
        let entry = |topic: &str, key: &str, payload: &str, source: &str| OutboxEntry {
            topic: topic.to_owned(),
            key: key.to_owned(),
            payload: payload.to_owned(),
            source_event_id: source.to_owned(),
            record_id: format!("r-{source}-{payload}"),
        };
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_many(
            &[
                entry("t.accounts.v1", "a", r#"{"n":1}"#, "e1"),
                entry("t.engagement.v1", "a", r#"{"n":2}"#, "e1"),
            ],
            1,
            None,
            &[],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut rolled_back = store.begin().await.unwrap();
        rolled_back
            .enqueue_many(&[entry("t.accounts.v1", "b", "{}", "e2")], 2, None, &[])
            .await
            .unwrap();
        drop(rolled_back);

        let pending = store.pending_outbox(10).await.unwrap();
        let payloads: Vec<&str> = pending.iter().map(|r| r.payload.as_str()).collect();
        assert_eq!(payloads, [r#"{"n":1}"#, r#"{"n":2}"#]);
        assert_eq!(pending[0].topic, "t.accounts.v1");
        assert_eq!(pending[0].source_event_id, "e1");
        store.delete_outbox(&[pending[0].id]).await.unwrap();
        assert_eq!(store.pending_outbox(10).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn post_statuses_move_forward_in_event_time_only() {
    use graphhook_processor::store::PostStatus;
    use graphhook_schema::output::PublishStatus::{Edited, Published, Removed};
    let post = |post_id, status, at_ms| PostStatus {
        post_id,
        item: Some("status"),
        status,
        at_ms,
    };
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        // One call, as a run of feed events: a post that comes again is written
        // after its earlier status, exactly as one at a time.
        let run = [
            ("1", "p1", post("p1_1", Published, 100)),
            ("1", "p1", post("p1_1", Published, 100)),
            ("1", "p1", post("p1_2", Published, 100)),
            ("2", "p1", post("p1_1", Published, 100)),
            ("1", "p1", post("p1_1", Edited, 200)),
            ("1", "p1", post("p1_1", Edited, 300)),
            ("1", "p1", post("p1_1", Removed, 250)),
        ];
        let changed = tx.update_post_statuses(&run).await.unwrap();
        assert_eq!(
            changed,
            [true, false, true, true, true, true, false],
            "new, repeat, another post, another app, edit, later edit, older than stored"
        );
        let later = tx
            .update_post_statuses(&[
                ("1", "p1", post("p1_1", Removed, 400)),
                ("1", "p1", post("p1_2", Published, 100)),
            ])
            .await
            .unwrap();
        assert_eq!(later, [true, false]);
        let none = tx.update_post_statuses(&[]).await.unwrap();
        assert!(none.is_empty());
    }
}

#[tokio::test]
async fn event_ids_older_than_the_retention_are_forgotten_in_chunks() {
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        for (id, at) in [("old-1", 100), ("old-2", 200), ("new", 5_000)] {
            assert!(tx.claim_event(id, at).await.unwrap());
        }
        tx.commit().await.unwrap();
        assert_eq!(
            store.prune_processed_events(1_000, 1).await.unwrap(),
            1,
            "one chunk"
        );
        let pruned = prometheus::IntCounter::new("pruned", "test").unwrap();
        graphhook_processor::jobs::pruning::prune_once(&store, 1_000, &pruned).await;
        assert_eq!(pruned.get(), 1);
        assert_eq!(store.processed_event_count().await.unwrap(), 1);
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.claim_event("old-1", 6_000).await.unwrap(),
            "a forgotten id is new again"
        );
        assert!(
            !tx.claim_event("new", 6_000).await.unwrap(),
            "a kept id is still a duplicate"
        );
        tx.commit().await.unwrap();
    }
}

/// An invalidation record for `account`, queued as the consumer queues outputs.
fn invalidation(
    account: &str,
    source: &str,
) -> graphhook_schema::output::MetricsInvalidationRecord {
    graphhook_schema::output::MetricsInvalidationRecord {
        version: 1,
        record_id: String::new(),
        source_event_id: source.to_owned(),
        app_id: "1".into(),
        account_id: account.to_owned(),
        scope: graphhook_schema::output::MetricsScope::Account,
        media_id: None,
        cause: "comments".into(),
        invalidated_at_ms: 1,
    }
}

/// Queues an invalidation record of `account` caused by `source` for each pair.
fn queue_invalidations(
    uow: &mut graphhook_processor::unit_of_work::UnitOfWork<'_>,
    rows: &[(&str, &str)],
) {
    for (account, source) in rows {
        uow.outputs
            .push(
                "metrics-invalidations.v1",
                account,
                invalidation(account, source),
                source,
                "x",
            )
            .unwrap();
    }
}

#[tokio::test]
async fn a_batch_writes_its_outputs_claimed_unless_an_earlier_row_of_their_key_is_pending() {
    use graphhook_kafka::Topics;
    use graphhook_processor::store::OutboxClaim;
    use graphhook_processor::unit_of_work::UnitOfWork;

    for store in stores().await {
        let topics = Topics::new("t.");
        // An earlier row of account "b", waiting for a relay.
        let mut earlier = UnitOfWork::begin(&store, &topics, 1_000).await.unwrap();
        queue_invalidations(&mut earlier, &[("b", "e0")]);
        let first = earlier.commit().await.unwrap();
        assert!(first.claimed.is_empty(), "a plain commit claims nothing");

        let claim = OutboxClaim {
            owner: "relay-1-direct".into(),
            lease_ms: 10_000,
        };
        let mut batch = UnitOfWork::begin(&store, &topics, 2_000).await.unwrap();
        queue_invalidations(&mut batch, &[("a", "e1"), ("b", "e2"), ("a", "e3")]);
        let committed = batch.commit_claimed(Some(&claim)).await.unwrap();
        assert_eq!(committed.outbox_ids.len(), 3);
        let claimed: Vec<(&str, &str)> = committed
            .claimed
            .iter()
            .map(|row| (row.key.as_str(), row.source_event_id.as_str()))
            .collect();
        assert_eq!(
            claimed,
            [("a", "e1"), ("a", "e3")],
            "b waits behind its earlier row"
        );
        assert!(committed.claimed[0].payload.contains("\"record_id\""));

        // The claimant's own rows are acknowledged before it writes more (they only
        // wait to be deleted): its next batch claims a's row, not b's.
        let mut next = UnitOfWork::begin(&store, &topics, 2_500).await.unwrap();
        queue_invalidations(&mut next, &[("a", "e4"), ("b", "e5")]);
        let next = next.commit_claimed(Some(&claim)).await.unwrap();
        let claimed: Vec<&str> = next
            .claimed
            .iter()
            .map(|row| row.source_event_id.as_str())
            .collect();
        assert_eq!(claimed, ["e4"]);

        // A relay's round takes the earlier row of b and b's new one, never the
        // rows claimed for the batch while the claim lives...
        let taken = store
            .claim_outbox("relay-2", 3_000, 9_000, 10)
            .await
            .unwrap();
        let sources: Vec<&str> = taken.iter().map(|r| r.source_event_id.as_str()).collect();
        assert_eq!(sources, ["e0", "e2", "e5"]);
        // ...and takes them once it has expired (their sender died).
        let later = store
            .claim_outbox("relay-2", 12_501, 20_000, 10)
            .await
            .unwrap();
        let sources: Vec<&str> = later.iter().map(|r| r.source_event_id.as_str()).collect();
        assert_eq!(sources, ["e0", "e1", "e2", "e3", "e4", "e5"]);
    }
}

/// The migration files of one engine, by name.
fn migration_files(engine: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(engine);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the migrations folder")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Tables, their columns and their indexes, as the engine reports them after
/// every migration (`_sqlx_migrations` and primary-key indexes aside).
async fn schema_of(url: &str) -> (Vec<String>, Vec<String>) {
    let store = connect(url).await;
    store.migrate().await.expect("migrations apply");
    drop(store);
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .expect("database");
    let (columns, indexes) = if url.starts_with("sqlite") {
        (
            "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite%'",
            "SELECT tbl_name || '.' || name FROM sqlite_master WHERE type = 'index' \
             AND name NOT LIKE 'sqlite_autoindex%'",
        )
    } else {
        (
            "SELECT table_name || '.' || column_name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'",
            "SELECT tablename || '.' || indexname FROM pg_indexes WHERE schemaname = current_schema() \
             AND indexname NOT LIKE '%\\_pkey' AND tablename NOT LIKE '\\_sqlx%'",
        )
    };
    let columns = names(&mut db, columns).await;
    let indexes = names(&mut db, indexes).await;
    (columns, indexes)
}

/// The first column of every row `sql` answers, sorted.
async fn names(db: &mut sqlx::AnyConnection, sql: &str) -> Vec<String> {
    use sqlx::Row;
    let rows = sqlx::query(sql).fetch_all(db).await.expect("catalog query");
    let mut names: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
    names.sort();
    names
}

#[tokio::test]
async fn both_engines_migrate_to_the_same_tables_columns_and_indexes() {
    assert_eq!(
        migration_files("postgres"),
        migration_files("sqlite"),
        "every migration exists for both engines, under the same name"
    );
    let urls = databases().await;
    let schemas = {
        let mut schemas = Vec::new();
        for url in &urls {
            schemas.push(schema_of(url).await);
        }
        schemas
    };
    assert!(!schemas[0].0.is_empty(), "SQLite reported no columns");
    if let [sqlite, postgres] = schemas.as_slice() {
        assert_eq!(sqlite.0, postgres.0, "the same tables and columns");
        assert_eq!(sqlite.1, postgres.1, "the same indexes");
    }
}
