//! graphhook's processor. This crate holds the domain logic that turns normalized
//! events into state transitions; the store, the consumer and the output producer
//! build on it.

pub mod account;
pub mod engagement;
pub mod feed;
pub mod handler;
pub mod store;
pub mod triggers;
