//! Rules and state machines: what an event, report or request means for an
//! account, its engagement, its cached metrics and its posts. Pure: no SQL, no
//! unit of work, no I/O (`tests/layering.rs` keeps it so); [`crate::apply`]
//! carries the decisions out.

pub mod account;
pub mod budget;
pub mod content;
pub mod engagement;
pub mod feed;
pub mod ids;
pub mod plan;
pub mod publication;
pub mod token;
pub mod triggers;
