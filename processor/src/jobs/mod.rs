//! Background work beside the consumer: each job runs on its own task until the
//! processor stops.

pub mod pruning;
pub mod publications;
pub mod tokens;
