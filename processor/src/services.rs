//! What every part of the processor shares, built once at start-up and handed
//! to each part whole: the store, the topic names, the clock, the metrics and
//! the Meta apps' secrets. The gateway, the token manager, the publication
//! tracker, the consumer loop and the admin API take it instead of the same
//! handles threaded one by one.

use graphhook_kafka::Topics;

use crate::clock::SharedClock;
use crate::gateway::AppSecrets;
use crate::metrics::ProcessorMetrics;
use crate::store::Store;

/// The processor's shared handles. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// The store (its signal wakes the outbox relay).
    pub store: Store,
    /// Topic names.
    pub topics: Topics,
    /// The one clock: batches, jobs, the call budget and the admin API read it
    /// (tests set it).
    pub clock: SharedClock,
    /// The processor's metrics.
    pub metrics: ProcessorMetrics,
    /// The configured Meta apps and their secrets.
    pub apps: AppSecrets,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("engine", &self.store.engine())
            .finish_non_exhaustive()
    }
}
