//! Rules and state machines: what an event, report or request means for an
//! account, its engagement, its cached metrics and its posts. Pure functions, but
//! for the few that apply a decision inside a unit of work (`transitions`,
//! `deletion`, `cache`).

pub mod account;
pub mod budget;
pub mod cache;
pub mod content;
pub mod deletion;
pub mod engagement;
pub mod feed;
pub mod plan;
pub mod publication;
pub mod transitions;
pub mod triggers;
