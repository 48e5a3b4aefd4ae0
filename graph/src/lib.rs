//! graphhook's Graph API client: HTTP and Meta's semantics, no store. It knows the
//! two hosts (graph.facebook.com, graph.instagram.com) and the API version from
//! configuration, puts tokens in the `Authorization` header (never in a logged
//! URL), times every call, reads every response's usage headers, classifies every
//! error into one action (the table in [`answer`]), logs one structured
//! line per failed call, and makes identical concurrent reads once.
//!
//! What must be shared between replicas (the call budget, tokens) is the
//! processor's business: it calls through this client and keeps the rest in its
//! store.

#![forbid(unsafe_code)]

pub mod answer;
mod call;
mod client;
mod flight;
mod settings;
mod usage;

pub use call::{appsecret_proof, Call, Host};
pub use client::{interpret, Answer, BuildError, CallError, GraphClient, Outcome};
pub use settings::GraphSettings;
pub use usage::{AppUsage, BusinessUsage, Usage};
