//! Builds the processor: store (migrated), outbox relay, subscribed consumer, jobs,
//! the public and operations listeners, the readiness check. Like ingest's
//! `Application::build`, binding port 0 picks a free port.

mod error;
mod meta_config;

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use graphhook_graph::GraphClient;
use graphhook_kafka::{base_config, producer_config, AckedSender, KafkaSettings, Topics};
use graphhook_schema::topics::{GRAPH_ERRORS, PUBLISH_REQUESTS};
use graphhook_web::Readiness;
use rdkafka::consumer::Consumer;
use secrecy::ExposeSecret;
use tokio::sync::watch;

use crate::gateway::Gateway;
use crate::health::{check as readiness_check, Health};
use crate::http::{serve, Listener, ProcessorState};
use crate::jobs::pruning::prune_until_stopped;
use crate::jobs::publications::track_until_stopped;
use crate::jobs::tokens::rotate_until_stopped;
use crate::metrics::ProcessorMetrics;
use crate::pipeline::consumer::{EventLoop, ProcessorConsumer};
use crate::pipeline::context::{OffsetWatch, ProcessorContext};
use crate::pipeline::relay::Relay;
use crate::publishing::tracker::Tracker;
use crate::services::Services;
use crate::settings::ProcessorSettings;
use crate::store::Store;
use crate::tokens::cipher::TokenCipher;
use crate::tokens::manager::TokenManager;

pub use error::StartError;
pub use meta_config::MetaConfig;

/// A built, not yet running, processor.
pub struct Processor {
    event_loop: EventLoop,
    relay: Relay,
    tokens: TokenManager,
    token_interval: Duration,
    tracker: Tracker,
    server: Server,
    ops_server: Server,
    port: u16,
    ops_port: u16,
    readiness: Readiness,
    events_topic: String,
    retention_hours: u64,
}

/// How often the readiness check runs.
const READINESS_INTERVAL: Duration = Duration::from_secs(1);
/// How long each of its probes (database, broker) may take.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Creates `graphhook_processor_offset_gaps_total` at 0 for every partition of
/// the consumed topics, so that the alert on its increase sees the first gap (a
/// series that appears at 5 shows no increase). Assignments add partitions that
/// appear later.
fn gap_series_at_zero(
    consumer: &ProcessorConsumer,
    consumed: &[String],
    metrics: &ProcessorMetrics,
) {
    for topic in consumed {
        match consumer.fetch_metadata(Some(topic), READINESS_TIMEOUT * 2) {
            Ok(metadata) => {
                for found in metadata.topics() {
                    for partition in found.partitions() {
                        metrics
                            .offset_gaps
                            .with_label_values(&[found.name(), &partition.id().to_string()]);
                    }
                }
            }
            Err(error) => {
                tracing::debug!(%error, %topic, "no metadata yet: its gap series appear at assignment")
            }
        }
    }
}

fn bind(address: SocketAddr) -> Result<(TcpListener, u16), StartError> {
    graphhook_web::bind(address).map_err(|source| StartError::Bind {
        address: address.to_string(),
        source,
    })
}

impl Processor {
    /// Connects and migrates the store, creates the Kafka clients, subscribes, and
    /// binds the HTTP server.
    pub async fn build(
        settings: &ProcessorSettings,
        kafka: &KafkaSettings,
        bootstrap: &str,
        meta: MetaConfig,
    ) -> Result<Self, StartError> {
        let store = Store::connect(
            settings.database_url.expose_secret(),
            settings.max_connections,
        )
        .await?;
        store.migrate().await?;
        let metrics = ProcessorMetrics::new()?;
        let health = Health::default();
        let readiness = Readiness::new(
            metrics.ready.clone(),
            READINESS_INTERVAL + READINESS_TIMEOUT * 2 + Duration::from_secs(2),
        );
        let topics = Topics::new(&kafka.topic_prefix);
        metrics.start_at_zero(&topics);
        let services = Services {
            store: store.clone(),
            topics: topics.clone(),
            clock: meta.clock.clone(),
            metrics: metrics.clone(),
            apps: meta.apps.clone(),
        };
        let relay = Relay::new(
            &services,
            AckedSender::new(producer_config(kafka, bootstrap))?,
            Duration::from_millis(kafka.produce_deadline_ms),
        );
        let gateway = Gateway::new(GraphClient::new(&meta.graph)?, &services);
        let tokens = TokenManager::new(
            &services,
            gateway.clone(),
            TokenCipher::from_settings(&meta.tokens)?,
            meta.tokens.clone(),
        );
        let tracker = Tracker::new(&services, gateway, tokens.clone(), meta.publishing);
        for (key_id, count) in tokens.unreadable_keys().await? {
            tracing::error!(%key_id, tokens = count, "stored tokens are under a key tokens.keys does not have: they cannot be decrypted, and their accounts' publications are held (token_unreadable) until the key is configured again");
        }
        let mut config = base_config(kafka, bootstrap);
        config
            .set("group.id", &settings.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("statistics.interval.ms", "5000");
        // Some brokers (tansu among them) answer a fetch only when its wait expires,
        // not when data arrives: librdkafka's 500 ms default would then be added to
        // every event's latency. `kafka.client."fetch.wait.max.ms"` overrides this.
        if !kafka.client.contains_key("fetch.wait.max.ms") {
            config.set("fetch.wait.max.ms", "20");
        }
        let offsets = OffsetWatch::new(settings.gap_reread_max);
        let consumer: ProcessorConsumer =
            config.create_with_context(ProcessorContext::new(metrics.clone(), offsets.clone()))?;
        let consumed = [
            topics.events(),
            topics.name(GRAPH_ERRORS),
            topics.name(PUBLISH_REQUESTS),
        ];
        consumer.subscribe(&consumed.iter().map(String::as_str).collect::<Vec<_>>())?;
        gap_series_at_zero(&consumer, &consumed, &metrics);
        let events_topic = topics.events();
        let (listener, port) = bind(settings.listen)?;
        let (ops_listener, ops_port) = bind(settings.ops_listen)?;
        let state = actix_web::web::Data::new(ProcessorState {
            services: services.clone(),
            readiness: readiness.clone(),
            admin_tokens: settings.admin_token.clone(),
            max_body_bytes: settings.max_body_bytes,
            tokens: tokens.clone(),
        });
        let server =
            serve(Listener::Public, listener, &state, &meta.request_log).map_err(|source| {
                StartError::Bind {
                    address: settings.listen.to_string(),
                    source,
                }
            })?;
        let ops_server =
            serve(Listener::Ops, ops_listener, &state, &meta.request_log).map_err(|source| {
                StartError::Bind {
                    address: settings.ops_listen.to_string(),
                    source,
                }
            })?;
        tracing::info!(engine = store.engine().name(), database = %settings.database_url_redacted(), group = %settings.group_id, port, ops_port, "processor started");
        Ok(Processor {
            event_loop: EventLoop {
                services,
                consumer,
                relay: relay.clone(),
                batch_size: settings.batch_size,
                batch_wait: Duration::from_millis(settings.batch_wait_ms),
                retry_initial: Duration::from_millis(settings.retry_initial_ms),
                health,
                offsets,
                #[cfg(feature = "testing")]
                crash_point: None,
            },
            relay,
            tokens,
            token_interval: Duration::from_secs(meta.tokens.check_interval_secs),
            tracker,
            server,
            ops_server,
            port,
            ops_port,
            readiness,
            events_topic,
            retention_hours: settings.processed_events_retention_hours,
        })
    }

    /// The token manager (tests drive its passes with their own clock).
    pub fn tokens(&self) -> TokenManager {
        self.tokens.clone()
    }

    /// The publication tracker (tests drive its passes with their own clock).
    pub fn tracker(&self) -> Tracker {
        self.tracker.clone()
    }

    /// The public listener's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The operations listener's port.
    pub fn ops_port(&self) -> u16 {
        self.ops_port
    }

    /// Its metrics (benchmarks read progress from them without querying).
    pub fn metrics(&self) -> ProcessorMetrics {
        self.event_loop.services.metrics.clone()
    }

    /// The readiness `/readyz` answers (drained on SIGTERM).
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Tests only: the consumer loop stops at `point` once, as a crash would.
    #[cfg(feature = "testing")]
    pub fn set_crash_point(&mut self, point: Option<crate::testing::CrashPoint>) {
        self.event_loop.crash_point = point;
    }

    /// Processes until `shutdown` turns true (finishing the batch in hand and
    /// committing its offsets), then stops the relay (after a last round), the jobs
    /// and the HTTP server.
    pub async fn run_until_stopped(self, shutdown: watch::Receiver<bool>) {
        let handle: ServerHandle = self.server.handle();
        let ops_handle: ServerHandle = self.ops_server.handle();
        let server = tokio::spawn(self.server);
        let ops_server = tokio::spawn(self.ops_server);
        let checked = (
            self.event_loop.health.clone(),
            self.event_loop.services.store.clone(),
            self.relay.clone(),
            self.events_topic.clone(),
        );
        let checks =
            tokio::spawn(self.readiness.clone().keep_checking(
                READINESS_INTERVAL,
                move || {
                    let (health, store, relay, topic) = checked.clone();
                    async move {
                        readiness_check(&health, &store, &relay, &topic, READINESS_TIMEOUT).await
                    }
                },
                shutdown.clone(),
            ));
        let (stop_relay, relay_stopped) = watch::channel(false);
        let relay = tokio::spawn(self.relay.run(relay_stopped));
        let tokens = tokio::spawn(rotate_until_stopped(
            self.tokens.clone(),
            self.token_interval,
            shutdown.clone(),
        ));
        let services = &self.event_loop.services;
        let tracking = tokio::spawn(track_until_stopped(
            self.tracker.clone(),
            services.store.clone(),
            services.metrics.clone(),
            shutdown.clone(),
        ));
        let pruning = tokio::spawn(prune_until_stopped(
            services.store.clone(),
            services.clock.clone(),
            self.retention_hours,
            services.metrics.pruned.clone(),
            shutdown.clone(),
        ));
        self.event_loop.run(shutdown).await;
        let _ = stop_relay.send(true);
        let _ = relay.await;
        pruning.abort();
        tokens.abort();
        tracking.abort();
        checks.abort();
        handle.stop(true).await;
        let _ = server.await;
        ops_handle.stop(true).await;
        let _ = ops_server.await;
    }
}
