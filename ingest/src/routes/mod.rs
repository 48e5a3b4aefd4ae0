//! Ingest's HTTP routes.

pub mod callbacks;
pub mod ops;
pub mod webhooks;
