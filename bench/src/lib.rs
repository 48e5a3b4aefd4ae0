//! The measuring half of the scripts under `bench/`: signed deliveries, a
//! bare-producer baseline, and an open-loop load generator.

pub mod bare_producer;
pub mod deliveries;
pub mod load;
pub mod processor;
