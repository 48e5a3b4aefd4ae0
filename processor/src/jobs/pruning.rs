//! Forgets processed event ids older than the retention, so the table that makes
//! redeliveries harmless does not grow forever. Runs beside the consumer loop,
//! in small deletes that never hold long locks.

use std::time::Duration;

use prometheus::IntCounter;
use tokio::sync::watch;

use crate::store::Store;

/// Time between pruning rounds.
const INTERVAL: Duration = Duration::from_secs(600);
/// Ids deleted per statement.
const CHUNK: i64 = 10_000;

/// Prunes every `INTERVAL` until `shutdown` turns true; `retention_hours` 0 does
/// nothing.
pub async fn prune_until_stopped(
    store: Store,
    clock: crate::clock::SharedClock,
    retention_hours: u64,
    pruned: IntCounter,
    mut shutdown: watch::Receiver<bool>,
) {
    if retention_hours == 0 {
        return;
    }
    let retention_ms = i64::try_from(retention_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
    loop {
        prune_once(&store, clock.now_ms().saturating_sub(retention_ms), &pruned).await;
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Deletes every id processed before `before_ms`, chunk by chunk.
#[tracing::instrument(name = "pruning_pass", skip_all, fields(before_ms))]
pub async fn prune_once(store: &Store, before_ms: i64, pruned: &IntCounter) {
    loop {
        match store.prune_processed_events(before_ms, CHUNK).await {
            Ok(0) => return,
            Ok(n) => {
                pruned.inc_by(n);
                tracing::debug!(deleted = n, "pruned processed event ids");
            }
            Err(error) => {
                tracing::warn!(%error, "cannot prune processed event ids; retrying later");
                return;
            }
        }
    }
}
