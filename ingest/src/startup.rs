//! Builds the ingest HTTP server: routes, middleware, the Kafka publisher.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use graphhook_kafka::{producer_config, AckedSender, KafkaSettings, Topics};
use graphhook_schema::CallbackKind;
use rdkafka::error::KafkaError;
use tracing_actix_web::TracingLogger;

use crate::apps::AppRegistry;
use crate::metrics::IngestMetrics;
use crate::problems::IngestError;
use crate::publisher::Publisher;
use crate::routes::{callbacks, ops, webhooks};
use crate::settings::{AppSettings, IngestSettings};
use crate::state::IngestState;
use crate::telemetry::{request_metrics, GraphhookRootSpan};

/// Why ingest could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
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

/// A built, not yet running, ingest server.
pub struct Application {
    port: u16,
    server: Server,
    publisher: Publisher,
}

impl Application {
    /// Binds the listener (port 0 picks a free one), creates the producer and builds
    /// the server. Topics must exist or be auto-created (see `Bus::ensure_topics`).
    pub fn build(
        settings: &IngestSettings,
        apps: &BTreeMap<String, AppSettings>,
        kafka: &KafkaSettings,
        bootstrap: &str,
    ) -> Result<Self, StartError> {
        let bind_error = |source| StartError::Bind {
            address: settings.listen.to_string(),
            source,
        };
        let listener = TcpListener::bind(settings.listen).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
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
        let state = web::Data::new(IngestState {
            apps: AppRegistry::new(apps),
            publisher: publisher.clone(),
            metrics: metrics.clone(),
            max_body_bytes: settings.max_body_bytes,
            public_base_url: settings.public_base_url.clone(),
            readiness_timeout: Duration::from_millis(settings.readiness_timeout_ms),
        });
        let metrics = web::Data::new(metrics);
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(request_metrics))
                .wrap(TracingLogger::<GraphhookRootSpan>::new())
                .app_data(metrics.clone())
                .configure(|cfg| routes(cfg, state.clone()))
        })
        .shutdown_timeout(settings.shutdown_timeout_secs);
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(bind_error)?.run();
        tracing::info!(port, "ingest listening");
        Ok(Application {
            port,
            server,
            publisher,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The publisher (tests reach the producer through it).
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGTERM, SIGINT or the handle), lets in-flight requests
    /// finish, then flushes the producer.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await?;
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

/// Registers ingest's routes and state on an actix `App` (also used by tests).
pub fn routes(cfg: &mut web::ServiceConfig, state: web::Data<IngestState>) {
    cfg.app_data(state)
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .service(
            web::resource("/webhooks/{app}")
                .route(web::get().to(webhooks::handshake))
                .route(web::post().to(webhooks::receive)),
        )
        .service(callback(
            "/callbacks/{app}/deauthorize",
            CallbackKind::Deauthorize,
        ))
        .service(callback(
            "/callbacks/{app}/data-deletion",
            CallbackKind::DataDeletion,
        ))
        .default_service(web::to(not_found));
}

fn callback(path: &str, kind: CallbackKind) -> actix_web::Resource {
    web::resource(path)
        .app_data(web::Data::new(kind))
        .route(web::post().to(callbacks::receive))
}

async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&IngestError::RouteNotFound)
}
