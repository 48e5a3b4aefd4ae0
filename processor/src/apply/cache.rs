//! Cached-metrics changes of a batch, gathered while its events are handled and
//! written in a few multi-row statements. Per entry, the outcome is the one the
//! events would have had one at a time: the first event that finds an entry fresh
//! invalidates it, the others coalesce into that invalidation.

use std::collections::HashMap;

use graphhook_schema::output::MetricsScope;

use crate::store::{MetricsKey, StoreError, StoreTx};

/// One change to an entry.
#[derive(Debug, Clone)]
enum Op {
    /// An event changed what the entry caches.
    Stale {
        at_ms: i64,
        event: usize,
        scope: MetricsScope,
    },
    /// Values arrived (story insights).
    Fresh { values: String, at_ms: i64 },
}

/// An entry that turned from fresh to stale: one invalidation record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    /// Index of the event that invalidated it.
    pub event: usize,
    /// The entry.
    pub key: MetricsKey,
    /// Account or media metrics.
    pub scope: MetricsScope,
    /// Event time.
    pub at_ms: i64,
}

/// What a flush did.
#[derive(Debug, Default)]
pub struct Flushed {
    /// Invalidation records to write.
    pub invalidations: Vec<Invalidation>,
    /// Indexes of events whose staleness coalesced into an earlier invalidation
    /// (or an entry never fetched), once per entry they touched.
    pub coalesced: Vec<usize>,
}

/// The batch's pending changes, in event order.
#[derive(Debug, Default)]
pub struct PendingCache {
    ops: Vec<(MetricsKey, Op)>,
}

impl PendingCache {
    /// Event `event` made `key` stale at `at_ms`.
    pub fn stale(&mut self, key: MetricsKey, scope: MetricsScope, at_ms: i64, event: usize) {
        self.ops.push((
            key,
            Op::Stale {
                at_ms,
                event,
                scope,
            },
        ));
    }

    /// Fresh values for `key`.
    pub fn fresh(&mut self, key: MetricsKey, values: String, at_ms: i64) {
        self.ops.push((key, Op::Fresh { values, at_ms }));
    }

    /// Writes everything pending.
    pub async fn flush(&mut self, tx: &mut StoreTx) -> Result<Flushed, StoreError> {
        let mut order: Vec<MetricsKey> = Vec::new();
        let mut by_key: HashMap<MetricsKey, Vec<Op>> = HashMap::new();
        for (key, op) in self.ops.drain(..) {
            by_key
                .entry(key.clone())
                .or_insert_with(|| {
                    order.push(key);
                    Vec::new()
                })
                .push(op);
        }
        let mut flushed = Flushed::default();
        let mut stale = Vec::new();
        let mut first_stale = Vec::new();
        let mut fresh = Vec::new();
        for key in order {
            let ops = by_key.remove(&key).unwrap_or_default();
            let all_stale = ops.iter().all(|op| matches!(op, Op::Stale { .. }));
            let all_fresh = ops.iter().all(|op| matches!(op, Op::Fresh { .. }));
            if all_stale {
                let mut events = ops.iter().filter_map(|op| match op {
                    Op::Stale {
                        at_ms,
                        event,
                        scope,
                    } => Some((*at_ms, *event, *scope)),
                    Op::Fresh { .. } => None,
                });
                if let Some((at_ms, event, scope)) = events.next() {
                    stale.push((key.clone(), at_ms));
                    first_stale.push(Invalidation {
                        event,
                        key,
                        scope,
                        at_ms,
                    });
                }
                flushed.coalesced.extend(events.map(|(_, event, _)| event));
            } else if all_fresh {
                if let Some(Op::Fresh { values, at_ms }) = ops.into_iter().last() {
                    fresh.push((key, values, at_ms));
                }
            } else {
                one_by_one(tx, key, ops, &mut flushed).await?;
            }
        }
        let invalidated = tx.mark_stale_many(&stale).await?;
        for candidate in first_stale {
            if invalidated.contains(&candidate.key) {
                flushed.invalidations.push(candidate);
            } else {
                flushed.coalesced.push(candidate.event);
            }
        }
        tx.write_fresh_many(&fresh).await?;
        // In event order, as they would have been written one event at a time.
        flushed.invalidations.sort_by_key(|i| i.event);
        Ok(flushed)
    }
}

/// An entry both refreshed and invalidated within the batch: applied in order.
async fn one_by_one(
    tx: &mut StoreTx,
    key: MetricsKey,
    ops: Vec<Op>,
    flushed: &mut Flushed,
) -> Result<(), StoreError> {
    let (app_id, account_id, media_id) = &key;
    for op in ops {
        match op {
            Op::Stale {
                at_ms,
                event,
                scope,
            } => {
                if tx.mark_stale(app_id, account_id, media_id, at_ms).await? {
                    flushed.invalidations.push(Invalidation {
                        event,
                        key: key.clone(),
                        scope,
                        at_ms,
                    });
                } else {
                    flushed.coalesced.push(event);
                }
            }
            Op::Fresh { values, at_ms } => {
                tx.write_fresh(app_id, account_id, media_id, &values, at_ms)
                    .await?;
            }
        }
    }
    Ok(())
}
