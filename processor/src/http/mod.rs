//! The processor's HTTP server: `/healthz`, `/readyz`, `/metrics`, the public
//! data-deletion status page and the admin API under `/v1`.

mod account_events;
mod admin;
mod ops;
mod problems;
mod publications;
mod tokens;

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpResponse, HttpServer};
use graphhook_kafka::Topics;
use secrecy::SecretString;
use tracing_actix_web::TracingLogger;

pub use problems::ApiError;

use crate::health::Health;
use crate::metrics::ProcessorMetrics;
use crate::pipeline::relay::Relay;
use crate::store::Store;
use crate::tokens::manager::TokenManager;

/// What the handlers share.
#[derive(Debug)]
pub struct ProcessorState {
    /// The store.
    pub store: Store,
    /// Readiness of the consumer loop.
    pub health: Health,
    /// The processor's metrics.
    pub metrics: ProcessorMetrics,
    /// The admin API's bearer token; without it `/v1` answers 404.
    pub admin_token: Option<SecretString>,
    /// Topic names (account changes made through the API write `accounts.v1`).
    pub topics: Topics,
    /// The outbox relay, woken after every change the API commits.
    pub relay: Relay,
    /// The token manager (registration and metadata).
    pub tokens: TokenManager,
}

/// Builds the server on `listener` (signals are left to the caller, who stops it
/// through its handle once the consumer loop has finished).
pub fn serve(listener: TcpListener, state: ProcessorState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .wrap(from_fn(count_requests))
            .wrap(TracingLogger::default())
            .configure(|cfg| routes(cfg, state.clone()))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run())
}

/// Registers the processor's routes and state on an actix `App`.
pub fn routes(cfg: &mut web::ServiceConfig, state: web::Data<ProcessorState>) {
    let json_errors = web::JsonConfig::default()
        .error_handler(|error, _| ApiError::BadRequest(error.to_string()).into());
    let query_errors = web::QueryConfig::default()
        .error_handler(|error, _| ApiError::BadRequest(error.to_string()).into());
    cfg.app_data(state)
        .app_data(json_errors)
        .app_data(query_errors)
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .route("/data-deletion/{code}", web::get().to(ops::deletion_status))
        .service(
            web::scope("/v1/apps/{app_id}/accounts")
                .route("", web::get().to(admin::list_accounts))
                .service(
                    web::resource("/{account_id}")
                        .route(web::get().to(admin::get_account))
                        .route(web::put().to(admin::put_account)),
                )
                .route(
                    "/{account_id}/events",
                    web::post().to(account_events::post_account_event),
                )
                .service(
                    web::resource("/{account_id}/publications")
                        .route(web::get().to(publications::list_publications))
                        .route(web::post().to(publications::post_publication)),
                )
                .route(
                    "/{account_id}/publications/{request_id}",
                    web::get().to(publications::get_publication),
                )
                .route(
                    "/{account_id}/publications/{request_id}/publish",
                    web::post().to(publications::publish_publication),
                )
                .service(
                    web::resource("/{account_id}/token")
                        .route(web::get().to(tokens::get_token))
                        .route(web::put().to(tokens::put_token)),
                )
                .service(
                    web::resource([
                        "/{account_id}/metrics",
                        "/{account_id}/media/{media_id}/metrics",
                    ])
                    .route(web::get().to(admin::get_metrics))
                    .route(web::put().to(admin::put_metrics)),
                ),
        )
        .default_service(web::to(not_found));
}

/// Counts every request by route pattern (unmatched paths count as `other`).
async fn count_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "other".to_owned());
    let method = graphhook_web::method_label(request.method());
    let state = request.app_data::<web::Data<ProcessorState>>().cloned();
    let response = next.call(request).await?;
    if let Some(state) = state {
        state
            .metrics
            .http_requests
            .with_label_values(&[route.as_str(), method, response.status().as_str()])
            .inc();
    }
    Ok(response)
}

async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::RouteNotFound)
}
