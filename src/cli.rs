//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// graphhook: Meta webhooks (Instagram Graph API, Facebook Pages) into Kafka,
/// verified and durable.
#[derive(Debug, Parser)]
#[command(name = "graphhook", version, about)]
pub struct Cli {
    /// TOML configuration file; `GRAPHHOOK_` environment variables override it.
    #[arg(long, short, global = true, env = "GRAPHHOOK_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// graphhook's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process. Without `kafka.brokers` it starts an in-process
    /// Kafka cluster whose records do not survive a restart (trying graphhook,
    /// development, single-box use).
    Run,
    /// The webhook receiver, for production against a real Kafka cluster.
    Ingest,
    /// The processor, for production against a real Kafka cluster and PostgreSQL.
    Process,
    /// Loads and validates the configuration, prints a summary without secrets.
    CheckConfig,
}
