//! graphhook's webhook receiver. Verifies Meta's deliveries and callbacks and
//! answers 200 only once Kafka has acknowledged every record they produce.

#![forbid(unsafe_code)]

pub mod apps;
mod body;
pub mod metrics;
pub mod problems;
pub mod publisher;
pub mod records;
pub mod replay;
pub mod routes;
pub mod settings;
pub mod signature;
pub mod signed_request;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use settings::{validate_apps, AppSettings, IngestSettings};
pub use startup::{Application, StartError};
