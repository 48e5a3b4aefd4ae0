//! graphhook's processor: consumes `events.v1`, keeps account health, engagement,
//! cached-metrics freshness and Page post status in SQL, and writes the output
//! topics through a transactional outbox.

pub mod account;
pub mod backoff;
pub mod batch;
pub mod cache_ops;
pub mod consumer;
pub mod context;
pub mod deletion;
pub mod engagement;
pub mod feed;
pub mod handler;
pub mod health;
pub mod http;
pub mod metrics;
pub mod outputs;
pub mod pruning;
pub mod relay;
pub mod settings;
pub mod startup;
pub mod store;
pub mod testing;
pub mod triggers;
