//! Kafka plumbing shared by ingest and processor: settings, client configuration,
//! topic names and creation, the embedded in-process cluster, and the one way to
//! send records and await their acknowledgements.

#![forbid(unsafe_code)]

mod bus;
mod client;
pub mod lenient;
pub mod logging;
pub mod redact;
mod sender;
mod settings;
mod topic_creation;
mod topics;

pub use bus::{Bus, BusError};
pub use client::{base_config, producer_config};
pub use sender::{
    breaks_producer, is_permanent, AckContext, AckedProducer, AckedSender, Record, SendError,
};
pub use settings::{
    is_secret_client_key, required_message_bytes, KafkaSettings, SettingsError,
    RECORD_OVERHEAD_BYTES,
};
pub use topics::Topics;
