//! What each subcommand does.

use std::time::Duration;

use graphhook_ingest::apps::AppRegistry;
use graphhook_ingest::replay::{replay_dead_letters, replay_deliveries, DeliveryFilter, TimeRange};
use graphhook_ingest::Application;
use graphhook_kafka::{Bus, Topics, RECORD_OVERHEAD_BYTES};
use graphhook_processor::clock::{system_clock, SharedClock};
use graphhook_processor::startup::{MetaConfig, Processor};
use graphhook_processor::store::Store;
use graphhook_processor::tokens::cipher::TokenCipher;
use graphhook_processor::tokens::rotation::rotate_key as rotate_key_of;
use graphhook_schema::time::now_millis;
use graphhook_schema::topics::{INGEST_TOPICS, PROCESSOR_TOPICS};
use graphhook_web::Readiness;
use secrecy::ExposeSecret;
use tokio::sync::watch;

use crate::cli::ReplayArgs;
use crate::config::Settings;
use crate::effective::Role;

/// How long creating topics at start may take.
const TOPIC_TIMEOUT: Duration = Duration::from_secs(15);

/// `graphhook ingest`: the webhook receiver against a real cluster.
pub async fn ingest(settings: Settings) -> anyhow::Result<()> {
    settings.validate_for(Role::Ingest)?;
    let bus = Bus::start(&settings.kafka)?;
    let app = start_ingest(&settings, &bus).await?;
    let stopper = app.stopper();
    tokio::spawn(async move {
        match shutdown_signal().await {
            Signal::Terminate => stopper.drain_and_stop().await,
            Signal::Interrupt => stopper.stop(true).await,
        }
    });
    app.run_until_stopped().await?;
    drop(bus);
    Ok(())
}

/// `graphhook run`: ingest and processor in one process; the embedded default.
/// On SIGTERM both drain (the longer drain period of the two), then ingest stops,
/// then the processor.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    settings.validate_for(Role::Run)?;
    let bus = Bus::start(&settings.kafka)?;
    let ingest = start_ingest(&settings, &bus).await?;
    let processor = start_processor(&settings, &bus).await?;
    let stopper = ingest.stopper();
    let processor_readiness = processor.readiness.clone();
    tokio::spawn(async move {
        match shutdown_signal().await {
            Signal::Terminate => {
                processor_readiness.drain();
                stopper.drain_and_stop().await;
            }
            Signal::Interrupt => stopper.stop(true).await,
        }
    });
    ingest.run_until_stopped().await?;
    let _ = processor.stop.send(true);
    processor.task.await?;
    drop(bus);
    Ok(())
}

/// `graphhook process`: the processor, for production. On SIGTERM, `/readyz`
/// says "draining" for `processor.drain_secs` before the processor stops.
pub async fn process(settings: Settings) -> anyhow::Result<()> {
    settings.validate_for(Role::Process)?;
    let bus = Bus::start(&settings.kafka)?;
    let processor = start_processor(&settings, &bus).await?;
    if shutdown_signal().await == Signal::Terminate {
        drain(&processor.readiness, settings.processor.drain_secs).await;
    }
    let _ = processor.stop.send(true);
    processor.task.await?;
    Ok(())
}

async fn drain(readiness: &Readiness, secs: u64) {
    readiness.drain();
    tracing::info!(drain_secs = secs, "draining: /readyz answers 503");
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// A processor running on a task of its own.
pub struct RunningProcessor {
    /// Send `true` to stop it after its batch.
    pub stop: watch::Sender<bool>,
    /// Finishes when it has stopped.
    pub task: tokio::task::JoinHandle<()>,
    /// Its public listener's port (the data-deletion status page).
    pub port: u16,
    /// Its operations listener's port (health, readiness, metrics, admin API).
    pub ops_port: u16,
    /// What its `/readyz` answers.
    pub readiness: Readiness,
}

/// Creates the processor's topics when configured to, builds the processor and
/// starts it on a task of its own.
pub async fn start_processor(settings: &Settings, bus: &Bus) -> anyhow::Result<RunningProcessor> {
    let processor = build_processor(settings, bus).await?;
    Ok(spawn_processor(processor))
}

/// Creates the processor's topics when configured to and builds the processor.
pub async fn build_processor(settings: &Settings, bus: &Bus) -> anyhow::Result<Processor> {
    build_processor_with(settings, bus, system_clock()).await
}

/// [`build_processor`] with the clock its jobs and call budget decide by (tests
/// set theirs).
pub async fn build_processor_with(
    settings: &Settings,
    bus: &Bus,
    clock: SharedClock,
) -> anyhow::Result<Processor> {
    create_topics(settings, bus, PROCESSOR_TOPICS.iter().chain(&INGEST_TOPICS)).await?;
    let meta = MetaConfig {
        graph: settings.graph.clone(),
        tokens: settings.tokens.clone(),
        publishing: settings.publishing.clone(),
        apps: settings.app_secrets(),
        clock,
        request_log: settings.log.requests(),
    };
    Ok(Processor::build(&settings.processor, &settings.kafka, bus.bootstrap(), meta).await?)
}

/// `graphhook tokens rotate-key`: prints how many tokens were re-encrypted and
/// how many each key holds afterwards.
pub async fn rotate_key(settings: &Settings) -> anyhow::Result<()> {
    settings.validate_processor()?;
    let cipher = TokenCipher::from_settings(&settings.tokens)?
        .ok_or_else(|| anyhow::anyhow!("tokens.keys and tokens.active_key are not configured"))?;
    let store = Store::connect(
        settings.processor.database_url.expose_secret(),
        settings.processor.max_connections,
    )
    .await?;
    store.migrate().await?;
    let rewritten = rotate_key_of(&store, &cipher).await?;
    println!(
        "re-encrypted {rewritten} token(s) under key {:?}",
        cipher.active_key()
    );
    for (key, count) in store.tokens_by_key().await? {
        println!("key {key:?}: {count} token(s)");
    }
    Ok(())
}

/// Starts a built processor on a task of its own.
pub fn spawn_processor(processor: Processor) -> RunningProcessor {
    let (stop, stopped) = watch::channel(false);
    RunningProcessor {
        stop,
        port: processor.port(),
        ops_port: processor.ops_port(),
        readiness: processor.readiness(),
        task: tokio::spawn(processor.run_until_stopped(stopped)),
    }
}

/// The signal that asked graphhook to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    /// SIGTERM (orchestrators, load-balanced deployments): drain first.
    Terminate,
    /// SIGINT (Ctrl-C at a terminal): stop now, gracefully.
    Interrupt,
}

async fn shutdown_signal() -> Signal {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return Signal::Interrupt;
                }
            };
        tokio::select! {
            _ = ctrl_c => Signal::Interrupt,
            _ = term.recv() => Signal::Terminate,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
        Signal::Interrupt
    }
}

/// `graphhook healthcheck`: `Ok` when `url` answers 2xx within five seconds.
pub async fn healthcheck(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let status = client.get(url).send().await?.status();
    anyhow::ensure!(status.is_success(), "{url} answered {status}");
    Ok(())
}

/// `graphhook migrate`.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    settings.validate_processor()?;
    let store = Store::connect(
        settings.processor.database_url.expose_secret(),
        settings.processor.max_connections,
    )
    .await?;
    store.migrate().await?;
    println!("migrations applied ({})", store.engine().name());
    Ok(())
}

/// `graphhook replay`: prints what it re-drove.
pub async fn replay(settings: &Settings, args: &ReplayArgs) -> anyhow::Result<()> {
    settings.validate_replay(args.dlq)?;
    let range = TimeRange {
        from_ms: args.from,
        to_ms: args.to.unwrap_or_else(now_millis),
    };
    anyhow::ensure!(range.from_ms <= range.to_ms, "--from is after --to");
    let bootstrap = settings.kafka.brokers.as_str();
    let report = if args.dlq {
        replay_dead_letters(&settings.kafka, bootstrap, range).await?
    } else {
        if let Some(app) = &args.app {
            anyhow::ensure!(
                settings.apps.contains_key(app),
                "no app named {app:?} under [apps]"
            );
        }
        let apps = AppRegistry::new(&settings.apps);
        let filter = DeliveryFilter {
            range,
            app: args.app.as_deref(),
            public_base_url: settings.ingest.public_base_url.as_ref(),
            apps: &apps,
        };
        replay_deliveries(&settings.kafka, bootstrap, filter).await?
    };
    tracing::info!(read = report.read, "replay finished");
    print!("{report}");
    Ok(())
}

/// Creates ingest's topics when configured to, then builds the ingest server on
/// `bus`. The binary and the end-to-end tests start ingest through this function.
pub async fn start_ingest(settings: &Settings, bus: &Bus) -> anyhow::Result<Application> {
    create_topics(settings, bus, INGEST_TOPICS.iter()).await?;
    let topics = Topics::new(&settings.kafka.topic_prefix);
    let body = settings.ingest.max_body_bytes;
    let needed = body + RECORD_OVERHEAD_BYTES;
    bus.check_message_limits(
        &settings.kafka,
        &[(topics.deliveries(), needed), (topics.events(), needed)],
        ("ingest.max_body_bytes", body),
        TOPIC_TIMEOUT,
    )
    .await?;
    Ok(Application::build(
        &settings.ingest,
        &settings.apps,
        &settings.kafka,
        bus.bootstrap(),
        &settings.log.requests(),
    )?)
}

/// Creates the topics with these suffixes when `kafka.create_topics` is on; existing
/// topics are left as they are.
async fn create_topics<'a>(
    settings: &Settings,
    bus: &Bus,
    suffixes: impl Iterator<Item = &'a &'a str>,
) -> anyhow::Result<()> {
    if !settings.kafka.create_topics {
        return Ok(());
    }
    let topics = Topics::new(&settings.kafka.topic_prefix);
    let names: Vec<String> = suffixes.map(|suffix| topics.name(suffix)).collect();
    bus.ensure_topics(&settings.kafka, &names, TOPIC_TIMEOUT)
        .await?;
    Ok(())
}
