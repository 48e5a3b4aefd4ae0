//! Why the processor could not start.

use rdkafka::error::KafkaError;

use crate::store::StoreError;

/// Why the processor could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A Kafka client could not be created or subscribed.
    #[error("cannot set up the processor's Kafka clients")]
    Kafka(#[from] KafkaError),
    /// The HTTP listen address could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Metrics could not be registered.
    #[error("cannot register metrics")]
    Metrics(#[from] prometheus::Error),
    /// The Graph API client could not be built.
    #[error(transparent)]
    Graph(#[from] graphhook_graph::BuildError),
    /// The token settings cannot work.
    #[error(transparent)]
    Tokens(#[from] graphhook_kafka::SettingsError),
}
