//! The processor's HTTP servers. The public listener serves only the
//! data-deletion status page; the operations listener serves `/healthz`,
//! `/readyz`, `/metrics` and the admin API under `/v1`.

mod account_events;
mod admin;
mod json;
mod ops;
mod problems;
mod publications;
mod tokens;

use std::borrow::Cow;
use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpResponse, HttpServer};
use graphhook_web::{access_log, AccessLog, Readiness, RequestLogSettings, RequestSpan};
use secrecy::SecretString;
use tracing_actix_web::TracingLogger;

pub use problems::ApiError;

use crate::services::Services;
use crate::tokens::manager::TokenManager;

/// What the handlers share.
#[derive(Debug)]
pub struct ProcessorState {
    /// The shared handles: the store, the topics (account changes made through
    /// the API write `accounts.v1`), the metrics, the configured apps (the admin
    /// API refuses others) and the clock changes are stamped with.
    pub services: Services,
    /// The cached readiness `/readyz` answers.
    pub readiness: Readiness,
    /// The admin API's bearer tokens (any is accepted); without any, `/v1`
    /// answers 404.
    pub admin_tokens: Vec<SecretString>,
    /// Largest admin API body.
    pub max_body_bytes: usize,
    /// The token manager (registration and metadata).
    pub tokens: TokenManager,
}

/// Which of the two listeners.
#[derive(Debug, Clone, Copy)]
pub enum Listener {
    /// The data-deletion status page.
    Public,
    /// Health, readiness, metrics, the admin API.
    Ops,
}

/// Builds the server of `which` on `listener` (signals are left to the caller,
/// who stops it through its handle once the consumer loop has finished).
pub fn serve(
    which: Listener,
    listener: TcpListener,
    state: &web::Data<ProcessorState>,
    requests: &RequestLogSettings,
) -> std::io::Result<Server> {
    let state = state.clone();
    let level = match which {
        Listener::Public => requests.success_level,
        Listener::Ops => requests.ops_level(),
    };
    let log = web::Data::new(AccessLog::new(requests, level, route_of));
    Ok(HttpServer::new(move || {
        App::new()
            .wrap(from_fn(graphhook_web::refuse_control_characters))
            .wrap(from_fn(count_requests))
            .wrap(from_fn(access_log))
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(log.clone())
            .configure(|cfg| match which {
                Listener::Public => public_routes(cfg, state.clone()),
                Listener::Ops => ops_routes(cfg, state.clone()),
            })
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(10)
    .listen(listener)?
    .run())
}

fn route_of(request: &ServiceRequest) -> Cow<'static, str> {
    request
        .match_pattern()
        .map_or(Cow::Borrowed("unmatched"), Cow::Owned)
}

/// Registers the public routes.
pub fn public_routes(cfg: &mut web::ServiceConfig, state: web::Data<ProcessorState>) {
    cfg.app_data(state)
        .route("/data-deletion/{code}", web::get().to(ops::deletion_status))
        .default_service(web::to(not_found));
}

/// Registers the operations and admin routes.
pub fn ops_routes(cfg: &mut web::ServiceConfig, state: web::Data<ProcessorState>) {
    let bodies = web::PayloadConfig::new(state.max_body_bytes);
    let query_errors =
        web::QueryConfig::default().error_handler(|error, _| json::query_error(error).into());
    cfg.app_data(state)
        .app_data(bodies)
        .app_data(query_errors)
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .service(
            web::scope("/v1/apps/{app_id}/accounts")
                .service(admin_resource("", "GET").route(web::get().to(admin::list_accounts)))
                .service(
                    admin_resource("/{account_id}", "GET, PUT")
                        .route(web::get().to(admin::get_account))
                        .route(web::put().to(admin::put_account)),
                )
                .service(
                    admin_resource("/{account_id}/events", "POST")
                        .route(web::post().to(account_events::post_account_event)),
                )
                .service(
                    admin_resource("/{account_id}/publications", "GET, POST")
                        .route(web::get().to(publications::list_publications))
                        .route(web::post().to(publications::post_publication)),
                )
                .service(
                    admin_resource("/{account_id}/publications/{request_id}", "GET")
                        .route(web::get().to(publications::get_publication)),
                )
                .service(
                    admin_resource("/{account_id}/publications/{request_id}/publish", "POST")
                        .route(web::post().to(publications::publish_publication)),
                )
                .service(
                    admin_resource("/{account_id}/token", "GET, PUT")
                        .route(web::get().to(tokens::get_token))
                        .route(web::put().to(tokens::put_token)),
                )
                .service(
                    admin_resource("/{account_id}/metrics", "GET, PUT")
                        .route(web::get().to(admin::get_metrics))
                        .route(web::put().to(admin::put_metrics)),
                )
                .service(
                    admin_resource("/{account_id}/media/{media_id}/metrics", "GET, PUT")
                        .route(web::get().to(admin::get_metrics))
                        .route(web::put().to(admin::put_metrics)),
                ),
        )
        .default_service(web::to(not_found));
}

/// An admin API resource at `path` serving the methods `allow` lists. Another
/// method gets a `405` problem with `Allow` only with the admin token; without
/// it, the same `401` (or `404` when the API is off) as any admin path, so
/// that a stranger learns nothing of the routes.
fn admin_resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |_: admin::Admin| async move {
        Err::<HttpResponse, ApiError>(ApiError::MethodNotAllowed(allow))
    }))
}

/// Counts every request by route pattern (unmatched paths count as `unmatched`).
async fn count_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let route = route_of(&request);
    let method = graphhook_web::method_label(request.method());
    let state = request.app_data::<web::Data<ProcessorState>>().cloned();
    let result = next.call(request).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    if let Some(state) = state {
        state
            .services
            .metrics
            .http_requests
            .with_label_values(&[route.as_ref(), method, status.as_str()])
            .inc();
    }
    result
}

async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::RouteNotFound)
}
