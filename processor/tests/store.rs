//! The store's behaviour on every engine: SQLite always, PostgreSQL when
//! `DATABASE_URL` is set (each test in a fresh database of its own).

use graphhook_processor::domain::account::{apply, Snapshot, Trigger};
use graphhook_schema::account::{AccountState, Reason};
mod support;

use graphhook_processor::store::OutboxEntry;

use support::stores;

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
        let account = tx.ensure_account("1", "1784", 10).await.unwrap();
        assert_eq!(account.snapshot.state, AccountState::Active);
        assert_eq!(account.snapshot, Snapshot::new_account());
        let transition = apply(account.snapshot, Trigger::PermissionRevoked, 500).unwrap();
        tx.save_transition("1", "1784", &transition, "e9", 20)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let stored = tx.account("1", "1784").await.unwrap().unwrap();
        assert_eq!(stored.snapshot.state, AccountState::ReconnectRequired);
        assert_eq!(stored.snapshot.reason, Some(Reason::PermissionRevoked));
        assert_eq!(stored.snapshot.changed_at_ms, 500);
        assert_eq!(
            tx.ensure_account("1", "1784", 30).await.unwrap(),
            stored,
            "existing accounts are left alone"
        );
        assert!(tx.account("1", "other").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_users_accounts_are_found_by_user_id() {
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        tx.set_account_user("1", "b", "u1", 1).await.unwrap();
        tx.set_account_user("1", "a", "u1", 1).await.unwrap();
        tx.set_account_user("1", "c", "u2", 1).await.unwrap();
        tx.set_account_user("2", "d", "u1", 1).await.unwrap();
        assert_eq!(tx.accounts_of_user("1", "u1").await.unwrap(), ["a", "b"]);
        assert!(tx.accounts_of_user("1", "nobody").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_burst_invalidates_fresh_metrics_once_until_they_are_refreshed() {
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.mark_stale("1", "a", "m1", 1).await.unwrap(),
            "nothing cached: nothing to invalidate"
        );
        tx.write_fresh("1", "a", "m1", r#"{"likes":3}"#, 2)
            .await
            .unwrap();
        assert!(
            tx.mark_stale("1", "a", "m1", 3).await.unwrap(),
            "fresh -> stale"
        );
        for at in 4..1004 {
            assert!(
                !tx.mark_stale("1", "a", "m1", at).await.unwrap(),
                "already stale"
            );
        }
        tx.write_fresh("1", "a", "m1", r#"{"likes":9}"#, 2000)
            .await
            .unwrap();
        assert!(
            tx.mark_stale("1", "a", "m1", 2001).await.unwrap(),
            "refreshed, so invalidated again"
        );
        assert!(
            !tx.mark_stale("1", "a", "", 2001).await.unwrap(),
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
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut rolled_back = store.begin().await.unwrap();
        rolled_back
            .enqueue_many(&[entry("t.accounts.v1", "b", "{}", "e2")], 2)
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
    use graphhook_schema::output::PublishStatus;
    let post = |status, at_ms| PostStatus {
        post_id: "p1_1",
        item: Some("status"),
        status,
        at_ms,
    };
    for store in stores().await {
        let mut tx = store.begin().await.unwrap();
        assert!(tx
            .update_post_status("1", "p1", &post(PublishStatus::Published, 100))
            .await
            .unwrap());
        assert!(
            !tx.update_post_status("1", "p1", &post(PublishStatus::Published, 100))
                .await
                .unwrap(),
            "a repeat changes nothing"
        );
        assert!(tx
            .update_post_status("1", "p1", &post(PublishStatus::Edited, 200))
            .await
            .unwrap());
        assert!(
            tx.update_post_status("1", "p1", &post(PublishStatus::Edited, 300))
                .await
                .unwrap(),
            "a later edit is news"
        );
        assert!(
            !tx.update_post_status("1", "p1", &post(PublishStatus::Removed, 250))
                .await
                .unwrap(),
            "older than what is stored"
        );
        assert!(tx
            .update_post_status("1", "p1", &post(PublishStatus::Removed, 400))
            .await
            .unwrap());
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
