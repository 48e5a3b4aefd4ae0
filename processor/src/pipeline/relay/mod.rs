//! The outbox relay: a background task of its own that sends committed outbox rows
//! to Kafka and deletes them once acknowledged. It is woken after every commit that
//! wrote rows (the consumer, the admin API, the jobs) and runs on a timer when idle,
//! so rows nobody woke it for (another replica's, a crashed one's) go out too.
//!
//! A round claims rows in a short transaction (see `store::outbox`), commits, sends
//! them with no transaction open, then deletes what Kafka acknowledged. Rows Kafka
//! acknowledged but whose deletion failed are remembered and only deleted next
//! time, not sent again. A row Kafka refuses for good (too large for its topic) is
//! parked in `outbox_parked` instead of blocking every row behind it. Only a crash
//! between the acknowledgement and the deletion sends a record twice; consumers
//! drop it by its `record_id`.
//!
//! The consumer waits for its batch's rows with [`Relay::flush`] before committing
//! offsets, so outputs are acknowledged before the events that caused them are
//! marked consumed. Its batch writes them already claimed for the relay's direct
//! owner ([`Relay::direct_claim`]) where no earlier row of their key is pending,
//! and `flush` sends those at once, without a claim round trip; the relay's own
//! rounds leave them alone until that claim expires. Once Kafka has acknowledged
//! them, `flush` returns and the relay task deletes them, so the consumer does
//! not wait for the deletion.

mod error;
mod sending;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use graphhook_kafka::AckedSender;
use tokio::sync::{watch, Notify};

pub use error::RelayError;

use crate::clock::SharedClock;
use crate::metrics::ProcessorMetrics;
use crate::services::Services;
use crate::store::{OutboxClaim, OutboxRow, Store};

/// Rows claimed and sent at a time.
const PAGE: i64 = 1_000;
/// How often an idle relay looks for rows nobody woke it for.
const IDLE: Duration = Duration::from_millis(250);
/// How long a relay that keeps failing waits between rounds nobody asked for.
const FAILING_IDLE: Duration = Duration::from_secs(5);
/// How often a flush looks again for rows another relay claimed.
const CLAIMED_ELSEWHERE_POLL: Duration = Duration::from_millis(50);

/// The outcome of one round, published to waiters.
#[derive(Debug, Clone)]
struct Round {
    number: u64,
    result: Result<(), RelayError>,
}

struct Inner {
    store: Store,
    /// The processor's clock: leases are written and read on the clock the
    /// consumer's own claims are written with.
    clock: SharedClock,
    sender: AckedSender,
    instance: String,
    /// The claimant of the consumer's own rows ([`Relay::direct_claim`]).
    direct_owner: String,
    deadline: Duration,
    lease: Duration,
    wake: Arc<Notify>,
    requested: AtomicU64,
    done: watch::Sender<Round>,
    acknowledged: Mutex<BTreeSet<i64>>,
    /// Acknowledged rows `flush` sent, for the relay task to delete.
    to_delete: Mutex<Vec<i64>>,
    delete_wake: Notify,
    metrics: ProcessorMetrics,
}

/// A handle on the relay; clones share it.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("instance", &self.inner.instance)
            .finish()
    }
}

impl Relay {
    /// A relay sending through `sender`, waiting at most `deadline` for Kafka's
    /// acknowledgements; its claims last twice that plus five seconds.
    pub fn new(services: &Services, sender: AckedSender, deadline: Duration) -> Self {
        let store = services.store.clone();
        let (done, _) = watch::channel(Round {
            number: 0,
            result: Ok(()),
        });
        let instance = format!("relay-{}", uuid::Uuid::new_v4().simple());
        Relay {
            inner: Arc::new(Inner {
                wake: store.outbox_signal(),
                store,
                clock: services.clock.clone(),
                sender,
                direct_owner: format!("{instance}-direct"),
                instance,
                deadline,
                lease: deadline * 2 + Duration::from_secs(5),
                requested: AtomicU64::new(0),
                done,
                acknowledged: Mutex::new(BTreeSet::new()),
                to_delete: Mutex::new(Vec::new()),
                delete_wake: Notify::new(),
                metrics: services.metrics.clone(),
            }),
        }
    }

    /// Whether the broker answers a metadata request for `topic` (readiness).
    pub async fn broker_answers(&self, topic: &str, timeout: Duration) -> Result<(), String> {
        self.inner.sender.recover_if_fatal();
        self.inner.sender.broker_answers(topic, timeout).await
    }

    /// Asks for a round soon (after a commit that wrote outbox rows).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The claim a batch writes its outputs with, for [`Relay::flush`] to send
    /// them directly.
    pub fn direct_claim(&self) -> OutboxClaim {
        OutboxClaim {
            owner: self.inner.direct_owner.clone(),
            lease_ms: i64::try_from(self.inner.lease.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Returns once the outbox rows `ids` are acknowledged by Kafka, or at the
    /// first failure. `claimed` (rows of `ids` written under
    /// [`Relay::direct_claim`]) are sent here and now; the others by a round of
    /// this relay or another replica's. The relay task deletes the rows sent here.
    pub async fn flush(&self, ids: &[i64], claimed: &[OutboxRow]) -> Result<(), RelayError> {
        if !claimed.is_empty() {
            self.send_only(claimed).await?;
            if let Ok(mut queue) = self.inner.to_delete.lock() {
                queue.extend(claimed.iter().map(|row| row.id));
            }
            self.inner.delete_wake.notify_one();
        }
        let direct: BTreeSet<i64> = claimed.iter().map(|row| row.id).collect();
        let wanted: BTreeSet<i64> = ids
            .iter()
            .copied()
            .filter(|id| !direct.contains(id))
            .collect();
        let (Some(min), Some(max)) = (wanted.first(), wanted.last()) else {
            return Ok(());
        };
        loop {
            self.round().await?;
            let pending = self.inner.store.pending_outbox_between(*min, *max).await?;
            if !pending.iter().any(|id| wanted.contains(id)) {
                return Ok(());
            }
            tokio::time::sleep(CLAIMED_ELSEWHERE_POLL).await;
        }
    }

    /// Requests a round and waits for one that began after the request.
    async fn round(&self) -> Result<(), RelayError> {
        let mut done = self.inner.done.subscribe();
        let wanted = self.inner.requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake();
        loop {
            {
                let round = done.borrow_and_update();
                if round.number >= wanted {
                    return round.result.clone();
                }
            }
            done.changed().await.map_err(|_| RelayError::Stopped)?;
        }
    }

    /// Relays until `shutdown` turns true, then makes a last round and gives up its
    /// claims.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failing = false;
        loop {
            let idle = if failing { FAILING_IDLE } else { IDLE };
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = self.inner.delete_wake.notified() => {
                    if let Err(error) = self.delete_sent().await {
                        tracing::debug!(%error, "acknowledged outbox rows not deleted yet; retried next round");
                    }
                    continue;
                }
                _ = tokio::time::sleep(idle) => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
            let number = self.inner.requested.load(Ordering::SeqCst);
            let result = self.relay_all().await;
            match (&result, failing) {
                (Err(error), false) => {
                    tracing::warn!(%error, "outbox relay failed; retrying");
                    failing = true;
                }
                (Err(error), true) => tracing::debug!(%error, "outbox relay still failing"),
                (Ok(()), true) => {
                    tracing::info!("outbox relay recovered");
                    failing = false;
                }
                (Ok(()), false) => {}
            }
            self.inner.done.send_replace(Round { number, result });
        }
        if let Err(error) = self.relay_all().await {
            tracing::warn!(%error, "outbox relay stopping with records left; another replica or the next start sends them");
        }
        for owner in [&self.inner.instance, &self.inner.direct_owner] {
            if let Err(error) = self.inner.store.release_outbox_claims(owner).await {
                tracing::debug!(%error, "outbox claims not released; they expire");
            }
        }
        self.inner.done.send_replace(Round {
            number: u64::MAX,
            result: Err(RelayError::Stopped),
        });
    }

    /// Claims and sends pages until nothing claimable is left.
    async fn relay_all(&self) -> Result<(), RelayError> {
        self.delete_sent().await?;
        let inner = &self.inner;
        loop {
            let now = inner.clock.now_ms();
            let lease_until = now + i64::try_from(inner.lease.as_millis()).unwrap_or(i64::MAX);
            let started = std::time::Instant::now();
            let rows = inner
                .store
                .claim_outbox(&inner.instance, now, lease_until, PAGE)
                .await?;
            tracing::trace!(
                rows = rows.len(),
                elapsed_us = started.elapsed().as_micros() as u64,
                "outbox claimed"
            );
            if rows.is_empty() {
                return Ok(());
            }
            let full = rows.len() as i64 == PAGE;
            self.send_page(&rows).await?;
            if !full {
                return Ok(());
            }
        }
    }
}
