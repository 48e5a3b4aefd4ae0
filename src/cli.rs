//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::effective::Role;

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
    /// Validates the configuration for a command and prints warnings and every
    /// section's effective values (secrets shown as `<secret>`).
    CheckConfig {
        /// The command to check for.
        #[arg(long = "for", value_enum, default_value = "run")]
        role: Role,
    },
    /// Asks a running graphhook's `/healthz` (exit status 0 when healthy), for
    /// container health checks where no HTTP client is installed.
    Healthcheck {
        /// The URL to ask (an operations listener).
        #[arg(default_value = "http://127.0.0.1:9080/healthz")]
        url: String,
    },
    /// Applies the processor's database migrations (start-up applies them too).
    Migrate,
    /// Re-drives stored deliveries (`deliveries.v1`) through normalization into
    /// `events.v1`, or with `--dlq` dead-lettered records into their topic. Safe to
    /// run at any time: the processor skips events it has applied. Needs
    /// `kafka.brokers` and the `[kafka]` section of the deployment (topic prefix,
    /// client properties); deliveries also need `[apps]` (ids and secrets) and,
    /// for data-deletion callbacks, `ingest.public_base_url`.
    Replay(ReplayArgs),
    /// Token maintenance.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

/// `graphhook tokens ...`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Re-encrypts every stored token under `tokens.active_key`, then prints how
    /// many tokens each key holds: a key that holds none can be removed.
    RotateKey,
}

/// What `graphhook replay` re-drives.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Start of the range: RFC 3339 (`2026-11-28T10:00:00Z`) or epoch milliseconds.
    #[arg(long, value_parser = parse_instant)]
    pub from: i64,
    /// End of the range (inclusive), same forms; defaults to now.
    #[arg(long, value_parser = parse_instant)]
    pub to: Option<i64>,
    /// Only deliveries of this app (its name under `[apps]`).
    #[arg(long, conflicts_with = "dlq")]
    pub app: Option<String>,
    /// Re-drive `dlq.v1` instead of `deliveries.v1`.
    #[arg(long)]
    pub dlq: bool,
}

/// Parses an RFC 3339 instant or epoch milliseconds into epoch milliseconds.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let instant = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("not RFC 3339 ({e}) nor epoch milliseconds"))?;
    i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_instant;

    #[test]
    fn instants_are_rfc3339_or_epoch_milliseconds() {
        assert_eq!(parse_instant("1700000000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_instant("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_instant("2023-11-14T23:13:20.5+01:00"),
            Ok(1_700_000_000_500)
        );
        assert!(parse_instant("yesterday").is_err());
    }
}
