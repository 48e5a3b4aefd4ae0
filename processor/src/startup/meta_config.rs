//! What the processor needs to talk to Meta, with defaults for tests and the
//! embedded mode.

use graphhook_graph::GraphSettings;
use graphhook_web::RequestLogSettings;

use crate::clock::{system_clock, SharedClock};
use crate::gateway::AppSecrets;
use crate::publishing::PublishingSettings;
use crate::tokens::TokenSettings;

/// What the processor needs to talk to Meta.
pub struct MetaConfig {
    /// `[graph]`.
    pub graph: GraphSettings,
    /// `[tokens]`.
    pub tokens: TokenSettings,
    /// `[publishing]`.
    pub publishing: PublishingSettings,
    /// The configured apps' secrets, by app id.
    pub apps: AppSecrets,
    /// The clock jobs and the call budget decide with.
    pub clock: SharedClock,
    /// How the processor's HTTP requests are logged.
    pub request_log: RequestLogSettings,
}

impl Default for MetaConfig {
    fn default() -> Self {
        MetaConfig {
            graph: GraphSettings::default(),
            tokens: TokenSettings::default(),
            publishing: PublishingSettings::default(),
            apps: AppSecrets::default(),
            clock: system_clock(),
            request_log: RequestLogSettings::default(),
        }
    }
}
