//! The processor's Meta-facing parts wired as `Processor::build` wires them (the
//! gateway, the token manager, the publication tracker) on a store, a clock the
//! caller sets and a Graph API at any URL (a fake), without Kafka: output records
//! stay in the outbox, where tests read them.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use graphhook_graph::{GraphClient, GraphSettings};
use graphhook_kafka::Topics;
use secrecy::SecretString;

use super::ManualClock;
use crate::gateway::{AppSecrets, Gateway, MetaApp};
use crate::metrics::ProcessorMetrics;
use crate::publishing::tracker::Tracker;
use crate::publishing::PublishingSettings;
use crate::services::Services;
use crate::store::Store;
use crate::tokens::cipher::TokenCipher;
use crate::tokens::manager::TokenManager;
use crate::tokens::TokenSettings;

/// The app id the stack's app secret is configured for.
pub const STACK_APP: &str = "1234567890";
/// The stack app's Facebook app secret.
pub const STACK_APP_SECRET: &str = "app-secret";
/// The stack app's Instagram app id (Instagram-login tokens are issued for it).
pub const STACK_INSTAGRAM_APP: &str = "9876543210";
/// The stack app's Instagram app secret.
pub const STACK_INSTAGRAM_SECRET: &str = "ig-app-secret";

/// Where the stack calls the Graph API: one URL per host.
#[derive(Debug, Clone)]
pub struct GraphHosts {
    /// Stands for graph.facebook.com.
    pub facebook: String,
    /// Stands for graph.instagram.com.
    pub instagram: String,
}

impl GraphHosts {
    /// Both hosts at one URL (a test server that tells calls apart by path).
    pub fn same(url: &str) -> Self {
        GraphHosts {
            facebook: url.to_owned(),
            instagram: url.to_owned(),
        }
    }
}

/// The stack's app: [`STACK_APP`] with its Facebook and Instagram secrets.
pub fn stack_apps() -> AppSecrets {
    AppSecrets::new(
        [(
            STACK_APP.to_owned(),
            MetaApp {
                secret: SecretString::from(STACK_APP_SECRET),
                instagram: Some((
                    STACK_INSTAGRAM_APP.to_owned(),
                    SecretString::from(STACK_INSTAGRAM_SECRET),
                )),
            },
        )]
        .into(),
    )
}

/// Token settings with keys of 32 repeated `byte`s, under these ids.
pub fn token_settings(keys: &[(&str, u8)], active: &str) -> TokenSettings {
    TokenSettings {
        keys: keys
            .iter()
            .map(|(id, byte)| {
                (
                    (*id).to_owned(),
                    SecretString::from(STANDARD.encode([*byte; 32])),
                )
            })
            .collect(),
        active_key: Some(active.to_owned()),
        ..TokenSettings::default()
    }
}

/// The parts.
pub struct Stack {
    /// The store.
    pub store: Store,
    /// The clock.
    pub clock: Arc<ManualClock>,
    /// The gateway.
    pub gateway: Gateway,
    /// The token manager.
    pub tokens: TokenManager,
    /// The tracker.
    pub tracker: Tracker,
    /// Their metrics.
    pub metrics: ProcessorMetrics,
}

impl Stack {
    /// Wires the parts on `store` and `clock`, calling the Graph API at `hosts`
    /// with `[tokens]` and `[publishing]` as given; the app is [`stack_apps`].
    pub fn new(
        store: &Store,
        clock: Arc<ManualClock>,
        hosts: &GraphHosts,
        tokens: TokenSettings,
        publishing: PublishingSettings,
    ) -> Self {
        Self::with_apps(store, clock, hosts, (tokens, publishing), stack_apps())
    }

    /// [`Stack::new`] with other apps configured.
    pub fn with_apps(
        store: &Store,
        clock: Arc<ManualClock>,
        hosts: &GraphHosts,
        parts: (TokenSettings, PublishingSettings),
        apps: AppSecrets,
    ) -> Self {
        Self::with_timeout(store, clock, hosts, parts, apps, 5_000)
    }

    /// [`Stack::with_apps`] with the Graph client waiting `timeout_ms` for an
    /// answer (reads and mutations alike; 5 s otherwise).
    pub fn with_timeout(
        store: &Store,
        clock: Arc<ManualClock>,
        hosts: &GraphHosts,
        (tokens, publishing): (TokenSettings, PublishingSettings),
        apps: AppSecrets,
        timeout_ms: u64,
    ) -> Self {
        let defaults = GraphSettings::default();
        let graph = GraphSettings {
            facebook_url: hosts.facebook.parse().unwrap_or(defaults.facebook_url),
            instagram_url: hosts.instagram.parse().unwrap_or(defaults.instagram_url),
            read_timeout_ms: timeout_ms,
            mutation_timeout_ms: timeout_ms,
            ..GraphSettings::default()
        };
        let metrics = ProcessorMetrics::new().expect("a fresh registry takes every metric");
        let services = Services {
            store: store.clone(),
            topics: Topics::new("t."),
            clock: clock.clone(),
            metrics: metrics.clone(),
            apps,
        };
        let gateway = Gateway::new(
            GraphClient::new(&graph).expect("the Graph client builds"),
            &services,
        );
        let cipher = TokenCipher::from_settings(&tokens).expect("test keys are valid");
        let manager = TokenManager::new(&services, gateway.clone(), cipher, tokens);
        let tracker = Tracker::new(&services, gateway.clone(), manager.clone(), publishing);
        Stack {
            store: store.clone(),
            clock,
            gateway,
            tokens: manager,
            tracker,
            metrics,
        }
    }
}
