//! The publication tracker's loop: a pass every `publishing.tick_ms` on every
//! replica (leases keep one owner per publication), and the publications-by-state
//! gauge refreshed every few seconds.

use std::time::Duration;

use graphhook_schema::output::PublishStatus;
use tokio::sync::watch;

use crate::metrics::ProcessorMetrics;
use crate::publishing::tracker::Tracker;
use crate::store::Store;

/// How often the publications gauge is refreshed.
const GAUGE_EVERY: Duration = Duration::from_secs(10);

/// Runs passes until `shutdown` turns true.
pub async fn track_until_stopped(
    tracker: Tracker,
    store: Store,
    metrics: ProcessorMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    refresh_gauge(&store, &metrics).await;
    let mut gauge_at = tokio::time::Instant::now();
    loop {
        if let Err(error) = tracker.run_pass().await {
            tracing::warn!(%error, "publication pass failed; trying again");
        }
        if gauge_at.elapsed() >= GAUGE_EVERY {
            refresh_gauge(&store, &metrics).await;
            gauge_at = tokio::time::Instant::now();
        }
        tokio::select! {
            _ = tokio::time::sleep(tracker.tick()) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Sets `graphhook_publications{state}` from the store (every state, 0 included).
pub async fn refresh_gauge(store: &Store, metrics: &ProcessorMetrics) {
    let Ok(counts) = store.publication_counts().await else {
        return;
    };
    for state in PublishStatus::PUBLICATION {
        let n = counts
            .iter()
            .find(|(s, _)| s == state.as_str())
            .map_or(0, |(_, n)| *n);
        metrics
            .publications
            .with_label_values(&[state.as_str()])
            .set(n);
    }
}
