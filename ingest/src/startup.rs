//! Builds ingest: the public listener (webhooks and callbacks), the operations
//! listener (health, readiness, metrics), the Kafka publisher and the readiness
//! check.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use graphhook_kafka::{producer_config, AckedSender, KafkaSettings, Topics};
use graphhook_web::access_log::RequestLogSettings;
use graphhook_web::{access_log, AccessLog, BodyBudget, BodyLimits, Readiness, RequestSpan};
use rdkafka::error::KafkaError;
use tokio::sync::watch;
use tracing_actix_web::TracingLogger;

use crate::apps::AppRegistry;
use crate::metrics::IngestMetrics;
use crate::publisher::Publisher;
use crate::routes::{ops, ops_routes, public_routes};
use crate::settings::{AppSettings, IngestSettings};
use crate::state::IngestState;
use crate::telemetry::{ops_route, public_route, request_metrics};

/// Why ingest could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listen address could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Kafka producer could not be created.
    #[error("cannot create the Kafka producer")]
    Producer(#[source] KafkaError),
    /// Metrics could not be registered.
    #[error("cannot register metrics")]
    Metrics(#[from] prometheus::Error),
}

/// Flushing queued records at shutdown waits at most this long.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// A running ingest: both listeners serve from `build` on.
pub struct Application {
    port: u16,
    ops_port: u16,
    server: Server,
    ops: Server,
    publisher: Publisher,
    stopper: Stopper,
    stop_checks: watch::Sender<bool>,
}

/// Stops ingest: at once, or after draining (SIGTERM).
#[derive(Debug, Clone)]
pub struct Stopper {
    public: ServerHandle,
    readiness: Readiness,
    drain: Duration,
}

impl Stopper {
    /// Closes the public listener; with `graceful`, in-flight requests finish
    /// (within `ingest.shutdown_timeout_secs`).
    pub async fn stop(&self, graceful: bool) {
        self.public.stop(graceful).await;
    }

    /// `/readyz` answers "draining" for `ingest.drain_secs` while deliveries are
    /// still served, then the listener closes and in-flight requests finish.
    pub async fn drain_and_stop(&self) {
        self.readiness.drain();
        tracing::info!(
            drain_secs = self.drain.as_secs_f64(),
            "draining: /readyz answers 503 while deliveries are still accepted"
        );
        tokio::time::sleep(self.drain).await;
        tracing::info!("closing the public listener; finishing requests in flight");
        self.stop(true).await;
    }

    /// The readiness `/readyz` answers.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }
}

fn bind(address: SocketAddr) -> Result<(TcpListener, u16), StartError> {
    graphhook_web::bind(address).map_err(|source| StartError::Bind {
        address: address.to_string(),
        source,
    })
}

impl Application {
    /// Binds both listeners (port 0 picks a free one), creates the producer,
    /// starts the servers and the readiness check. Topics must exist or be
    /// auto-created (see `Bus::ensure_topics`).
    pub fn build(
        settings: &IngestSettings,
        apps: &BTreeMap<String, AppSettings>,
        kafka: &KafkaSettings,
        bootstrap: &str,
        requests: &RequestLogSettings,
    ) -> Result<Self, StartError> {
        let (listener, port) = bind(settings.listen)?;
        let (ops_listener, ops_port) = bind(settings.ops_listen)?;
        let sender =
            AckedSender::new(producer_config(kafka, bootstrap)).map_err(StartError::Producer)?;
        let publisher = Publisher::new(
            sender,
            &Topics::new(&kafka.topic_prefix),
            Duration::from_millis(kafka.produce_deadline_ms),
        );
        if settings.public_base_url.is_none() {
            tracing::warn!(
                "ingest.public_base_url is not set: data-deletion callbacks will be refused"
            );
        }
        let metrics = IngestMetrics::new()?;
        metrics.start_at_zero(apps.keys().map(String::as_str));
        let interval = Duration::from_millis(settings.readiness_interval_ms);
        let timeout = Duration::from_millis(settings.readiness_timeout_ms);
        let readiness = Readiness::new(
            metrics.ready.clone(),
            interval + timeout + Duration::from_secs(2),
        );
        let state = web::Data::new(IngestState {
            apps: AppRegistry::new(apps),
            publisher: publisher.clone(),
            metrics: metrics.clone(),
            body: BodyLimits {
                max_bytes: settings.max_body_bytes,
                deadline: Duration::from_millis(settings.body_timeout_ms),
                budget_wait: Duration::from_millis(settings.body_budget_wait_ms),
            },
            budget: BodyBudget::new(settings.max_bytes_in_flight),
            public_base_url: settings.public_base_url.clone(),
            readiness: readiness.clone(),
        });
        let server = public_server(listener, settings, requests, &state, &metrics)?;
        let ops = ops_server(ops_listener, requests, &state)?;
        let (stop_checks, checks_stopped) = watch::channel(false);
        let checked = publisher.clone();
        tokio::spawn(readiness.clone().keep_checking(
            interval,
            move || ops::check(checked.clone(), timeout),
            checks_stopped,
        ));
        tracing::info!(port, ops_port, "ingest listening");
        Ok(Application {
            port,
            ops_port,
            stopper: Stopper {
                public: server.handle(),
                readiness,
                drain: Duration::from_secs(settings.drain_secs),
            },
            server,
            ops,
            publisher,
            stop_checks,
        })
    }

    /// The public listener's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The operations listener's port.
    pub fn ops_port(&self) -> u16 {
        self.ops_port
    }

    /// The publisher (tests reach the producer through it).
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// Stops the public listener, at once or after draining.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until the public listener is stopped (see [`Stopper`]) and its
    /// requests have finished, then closes the operations listener and flushes the
    /// producer.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let ops = self.ops.handle();
        let ops_task = tokio::spawn(self.ops);
        let served = self.server.await;
        let _ = self.stop_checks.send(true);
        ops.stop(true).await;
        let _ = ops_task.await;
        served?;
        let publisher = self.publisher;
        let flushed = tokio::task::spawn_blocking(move || publisher.flush(FLUSH_TIMEOUT)).await;
        match flushed {
            Ok(Ok(())) => tracing::info!("ingest stopped; producer flushed"),
            Ok(Err(error)) => tracing::error!(%error, "ingest stopped; producer flush incomplete"),
            Err(error) => tracing::error!(%error, "ingest stopped; producer flush failed"),
        }
        Ok(())
    }
}

fn public_server(
    listener: TcpListener,
    settings: &IngestSettings,
    requests: &RequestLogSettings,
    state: &web::Data<IngestState>,
    metrics: &IngestMetrics,
) -> Result<Server, StartError> {
    let metrics = web::Data::new(metrics.clone());
    let log = web::Data::new(AccessLog::new(
        requests,
        requests.success_level,
        public_route,
    ));
    let state = state.clone();
    let address = settings.listen.to_string();
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(graphhook_web::refuse_control_characters))
            .wrap(from_fn(request_metrics))
            .wrap(from_fn(access_log))
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(metrics.clone())
            .app_data(log.clone())
            .configure(|cfg| public_routes(cfg, state.clone()))
    })
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout_secs);
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    let server = server
        .listen(listener)
        .map_err(|source| StartError::Bind { address, source })?;
    Ok(server.run())
}

fn ops_server(
    listener: TcpListener,
    requests: &RequestLogSettings,
    state: &web::Data<IngestState>,
) -> Result<Server, StartError> {
    let log = web::Data::new(AccessLog::new(requests, requests.ops_level(), ops_route));
    let state = state.clone();
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(graphhook_web::refuse_control_characters))
            .wrap(from_fn(access_log))
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(log.clone())
            .configure(|cfg| ops_routes(cfg, state.clone()))
    })
    .disable_signals()
    .workers(1)
    .shutdown_timeout(5)
    .listen(listener)
    .map_err(|source| StartError::Bind { address, source })?;
    Ok(server.run())
}
