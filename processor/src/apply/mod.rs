//! Decisions of [`crate::domain`] applied inside a unit of work: an account's
//! transition saved with its `accounts.v1` record, a batch's cached-metrics
//! changes written in a few statements, a data-deletion request carried out. The
//! layer between the pure rules below and the consumer pipeline, the jobs and the
//! admin API above.

pub mod cache;
pub mod deletion;
pub mod transitions;
