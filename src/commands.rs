//! What each subcommand does.

use std::time::Duration;

use graphhook_ingest::Application;
use graphhook_kafka::{Bus, Topics};
use graphhook_schema::topics::INGEST_TOPICS;

use crate::config::Settings;

/// How long creating topics at start may take.
const TOPIC_TIMEOUT: Duration = Duration::from_secs(15);

/// `graphhook ingest`: the webhook receiver against a real cluster.
pub async fn ingest(settings: Settings) -> anyhow::Result<()> {
    settings.require_brokers("ingest")?;
    settings.validate_ingest()?;
    serve_ingest(&settings).await
}

/// `graphhook run`: the embedded default.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    settings.validate_ingest()?;
    serve_ingest(&settings).await
}

/// `graphhook check-config`.
pub fn check_config(settings: &Settings) -> anyhow::Result<String> {
    settings.validate_ingest()?;
    let apps: Vec<String> = settings
        .apps
        .iter()
        .map(|(name, app)| {
            format!(
                "{name} (app id {}, {} secret(s), handshake {}, sha1 {})",
                app.app_id,
                app.secrets.len(),
                if app.verify_token.is_some() {
                    "on"
                } else {
                    "off"
                },
                if app.allow_sha1 {
                    "accepted"
                } else {
                    "refused"
                },
            )
        })
        .collect();
    let kafka = if settings.kafka.embedded() {
        "embedded (in-process)".to_owned()
    } else {
        settings.kafka.brokers.clone()
    };
    Ok(format!(
        "configuration is valid\nlisten: {}\nkafka: {kafka}\ntopic prefix: {}\napps: {}",
        settings.ingest.listen,
        settings.kafka.topic_prefix,
        apps.join("; ")
    ))
}

async fn serve_ingest(settings: &Settings) -> anyhow::Result<()> {
    let bus = Bus::start(&settings.kafka)?;
    let app = start_ingest(settings, &bus).await?;
    app.run_until_stopped().await?;
    drop(bus);
    Ok(())
}

/// Creates ingest's topics when configured to, then builds the ingest server on
/// `bus`. The binary and the end-to-end tests start ingest through this function.
pub async fn start_ingest(settings: &Settings, bus: &Bus) -> anyhow::Result<Application> {
    if settings.kafka.create_topics {
        let topics: Vec<String> = INGEST_TOPICS
            .iter()
            .map(|suffix| Topics::new(&settings.kafka.topic_prefix).name(suffix))
            .collect();
        bus.ensure_topics(&settings.kafka, &topics, TOPIC_TIMEOUT)
            .await?;
    }
    Ok(Application::build(
        &settings.ingest,
        &settings.apps,
        &settings.kafka,
        bus.bootstrap(),
    )?)
}
