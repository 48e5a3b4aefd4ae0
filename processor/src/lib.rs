//! graphhook's processor: consumes `events.v1` and `graph-errors.v1`, keeps account
//! health, engagement, cached-metrics freshness and Page post status in SQL, and
//! writes the output topics through a transactional outbox.
//!
//! Where things go: the consume-apply-commit path in `pipeline/`, rules and state
//! machines in `domain/`, background work in `jobs/`, queries in `store/`, routes in
//! `http/`. A change of state is made in a [`unit_of_work::UnitOfWork`], whoever
//! makes it.

#![forbid(unsafe_code)]

pub mod apply;
pub mod clock;
pub mod domain;
pub mod gateway;
pub mod health;
pub mod http;
pub mod jobs;
pub mod metrics;
mod metrics_baseline;
pub mod outputs;
pub mod pipeline;
pub mod publishing;
pub mod report;
pub mod services;
pub mod settings;
pub mod startup;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;
pub mod unit_of_work;
