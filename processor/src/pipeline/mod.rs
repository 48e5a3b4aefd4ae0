//! Consume, apply, commit: the consumer loop, how a batch is applied (and split
//! around a record the database refuses), dead letters, and the outbox relay that
//! sends what was committed.

pub mod accounts;
pub mod backoff;
pub mod batch;
pub mod consumer;
pub mod context;
pub mod dead_letter;
mod gaps;
pub mod handler;
mod in_flight;
pub mod offsets;
pub mod posts;
pub mod records;
pub mod relay;
mod retry;
