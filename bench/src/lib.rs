//! The measuring half of the scripts under `bench/`: signed deliveries, a
//! bare-producer baseline, an open-loop load generator, hostile clients, and the
//! kill loop's tools.

#![forbid(unsafe_code)]

pub mod bare_producer;
pub mod broker_probe;
pub mod deliveries;
pub mod edge;
pub mod hostile;
pub mod kill_loop;
pub mod load;
pub mod processor;
pub mod publishing;
pub mod raw_store;
pub mod witness;
