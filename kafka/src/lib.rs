//! Kafka plumbing shared by ingest and processor: settings, client configuration,
//! topic names and creation, and the embedded in-process cluster.

mod bus;
mod client;
mod settings;
mod topics;

pub use bus::{Bus, BusError};
pub use client::{base_config, producer_config};
pub use settings::{KafkaSettings, SettingsError};
pub use topics::Topics;
