//! Readiness shared between the consumer loop and `/readyz`: false until the loop
//! has started, and while it retries a failed batch (database or broker down).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use prometheus::IntGauge;

/// Whether the processor is processing, and why not.
#[derive(Debug, Clone)]
pub struct Health {
    ready: Arc<AtomicBool>,
    reason: Arc<Mutex<String>>,
    gauge: IntGauge,
}

impl Health {
    /// Not ready ("starting") until [`Health::set_ready`].
    pub fn new(gauge: IntGauge) -> Self {
        gauge.set(0);
        Health {
            ready: Arc::new(AtomicBool::new(false)),
            reason: Arc::new(Mutex::new("starting".to_owned())),
            gauge,
        }
    }

    /// Processing normally.
    pub fn set_ready(&self) {
        if !self.ready.swap(true, Ordering::SeqCst) {
            tracing::info!("processor ready");
        }
        self.gauge.set(1);
    }

    /// Stalled: `reason` is shown by `/readyz` (no secrets, no internals beyond the
    /// failing component).
    pub fn set_not_ready(&self, reason: &str) {
        if let Ok(mut current) = self.reason.lock() {
            reason.clone_into(&mut current);
        }
        self.ready.store(false, Ordering::SeqCst);
        self.gauge.set(0);
    }

    /// `Ok` when ready, else the reason.
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
