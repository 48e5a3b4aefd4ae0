//! The consumer loop's own state: false until the loop has started, and while it
//! retries a failed batch (database or broker down). The readiness check
//! ([`check`]) combines it with the database and the broker; `/readyz` and
//! `graphhook_processor_ready` answer that check's latest result.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::pipeline::relay::Relay;
use crate::store::Store;

/// Whether the consumer loop is processing, and why not.
#[derive(Debug, Clone)]
pub struct Health {
    ready: Arc<AtomicBool>,
    reason: Arc<Mutex<String>>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            ready: Arc::new(AtomicBool::new(false)),
            reason: Arc::new(Mutex::new("starting".to_owned())),
        }
    }
}

impl Health {
    /// Processing normally.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Stalled: `reason` is shown by `/readyz` (no secrets, no internals beyond the
    /// failing component).
    pub fn set_not_ready(&self, reason: &str) {
        if let Ok(mut current) = self.reason.lock() {
            reason.clone_into(&mut current);
        }
        self.ready.store(false, Ordering::SeqCst);
    }

    /// `Ok` when processing, else the reason.
    pub fn check(&self) -> Result<(), String> {
        if self.ready.load(Ordering::SeqCst) {
            return Ok(());
        }
        Err(self
            .reason
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|_| "not ready".to_owned()))
    }
}

/// Ready when the consumer loop is processing, the database answers, and the
/// broker answers a metadata request for `topic`, each within `timeout`.
pub async fn check(
    health: &Health,
    store: &Store,
    relay: &Relay,
    topic: &str,
    timeout: Duration,
) -> Result<(), String> {
    health.check()?;
    match tokio::time::timeout(timeout, store.ping()).await {
        Ok(Ok(())) => {}
        _ => return Err("database unreachable".to_owned()),
    }
    relay.broker_answers(topic, timeout).await
}
