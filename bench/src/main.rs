//! `graphhook-bench`: the measuring half of the scripts under `bench/`.

use clap::{Parser, Subcommand};
use graphhook_bench::{bare_producer, deliveries, load};

#[derive(Parser)]
#[command(about = "graphhook benchmark helpers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes pre-signed deliveries, one `signature<TAB>body` per line.
    Deliveries(deliveries::Args),
    /// Sends the records graphhook would write for those deliveries with a bare
    /// producer (acks=all, idempotent, many in flight): the ceiling to compare with.
    BareProducer(bare_producer::Args),
    /// Posts deliveries at a fixed rate (open loop) and reports latency percentiles.
    Load(load::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Deliveries(args) => deliveries::run(&args),
        Command::BareProducer(args) => bare_producer::run(&args).await,
        Command::Load(args) => load::run(&args).await,
    }
}
