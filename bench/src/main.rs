//! `graphhook-bench`: the measuring half of the scripts under `bench/`.

use clap::{Parser, Subcommand};
use graphhook_bench::{
    bare_producer, broker_probe, deliveries, edge, hostile, kill_loop, load, processor, publishing,
    raw_store, witness,
};

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
    /// GETs a path from many keep-alive clients as fast as answered (a health-check
    /// flood).
    Flood(edge::FloodArgs),
    /// Slow senders holding large unfinished bodies while the server's memory is
    /// sampled.
    SlowSenders(edge::SlowArgs),
    /// Hostile input at the public listener: mutated signatures and bodies,
    /// slow headers, odd framing, idle connections, pathological JSON.
    Hostile(hostile::Args),
    /// Sends signed deliveries with ids of their own and writes down each answer
    /// (the chaos suite's witness).
    Witness(witness::SendArgs),
    /// Checks that every delivery the witness saw answered `200` is in
    /// `deliveries.v1`.
    Stored(witness::CheckArgs),
    /// Writes the processor benchmark's realistic mix of events to `events.v1`.
    FillEvents(processor::FillArgs),
    /// Baseline: a bare consumer reading every event of `events.v1`.
    Drain(processor::Target),
    /// Runs the processor until every event is committed and every output acked.
    Process(processor::ProcessArgs),
    /// The raw-PostgreSQL baseline: what a processor run wrote, written again
    /// with nothing but SQL, batch by batch.
    RawStore(raw_store::Args),
    /// Hosts librdkafka's mock cluster in this process until killed; prints
    /// `bootstrap=<servers>`.
    MockBroker {
        /// Brokers in the cluster.
        #[arg(long, default_value_t = 1)]
        brokers: i32,
        /// Prefix of the topics to create (repeatable: one set per prefix).
        #[arg(long, required = true)]
        topic_prefix: Vec<String>,
        /// Their partitions.
        #[arg(long, default_value_t = 6)]
        partitions: i32,
    },
    /// Reproduces the broker flaws the processor guards against (a fetch inside
    /// a record batch served from the next batch; a high watermark short of the
    /// log end) and prints whether this broker has them.
    BrokerProbe(broker_probe::Args),
    /// A simulated day of publications against the fake Graph API.
    Publishing(publishing::Args),
    /// Prints a group's committed offsets of `events.v1` beside the watermarks.
    Offsets(kill_loop::OffsetsArgs),
    /// Lists the records of `events.v1` whose events the store never applied.
    Missing(kill_loop::MissingArgs),
    /// Lists the output records (topic and record_id), sorted.
    RecordIds(kill_loop::LogArgs),
    /// Prints count, p50 and p99 of a Prometheus histogram.
    Quantiles {
        /// The `/metrics` URL.
        #[arg(long)]
        url: String,
        /// The histogram's name.
        #[arg(long)]
        metric: String,
        /// An earlier exposition (saved with `GRAPHHOOK_BENCH_SAVE_METRICS=FILE`):
        /// report only what was observed since.
        #[arg(long)]
        before: Option<std::path::PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Deliveries(args) => deliveries::run(&args),
        Command::BareProducer(args) => bare_producer::run(&args).await,
        Command::Load(args) => load::run(&args).await,
        Command::Flood(args) => edge::flood(&args).await,
        Command::SlowSenders(args) => edge::slow_senders(&args).await,
        Command::Hostile(args) => hostile::run(&args).await,
        Command::Witness(args) => witness::send(&args).await,
        Command::Stored(args) => witness::check(&args).await,
        Command::FillEvents(args) => processor::fill(&args).await,
        Command::Drain(target) => processor::drain(&target).await,
        Command::Process(args) => processor::process(&args).await,
        Command::RawStore(args) => raw_store::run(&args).await,
        Command::MockBroker {
            brokers,
            topic_prefix,
            partitions,
        } => kill_loop::mock_broker(brokers, &topic_prefix, partitions),
        Command::Publishing(args) => publishing::run(&args).await,
        Command::BrokerProbe(args) => broker_probe::run(&args).await,
        Command::Offsets(args) => kill_loop::offsets(&args),
        Command::Missing(args) => kill_loop::missing(&args).await,
        Command::RecordIds(args) => kill_loop::record_ids(&args),
        Command::Quantiles {
            url,
            metric,
            before,
        } => processor::quantiles(&url, &metric, before.as_deref()).await,
    }
}
