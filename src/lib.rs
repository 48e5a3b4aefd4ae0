//! The `graphhook` binary's library: configuration, telemetry and the commands, so
//! that end-to-end tests drive exactly what the binary runs.

#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod effective;
mod http_noise;
mod secret_files;
pub mod telemetry;
