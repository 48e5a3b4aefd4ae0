//! Ingest's HTTP routes: the public listener serves only Meta's webhooks and
//! callbacks, the operations listener only health, readiness and metrics.

pub mod callbacks;
pub mod ops;
pub mod webhooks;

use actix_web::{web, HttpResponse};
use graphhook_schema::CallbackKind;

use crate::problems::IngestError;
use crate::state::IngestState;

/// Registers the public routes and state on an actix `App` (also used by tests).
pub fn public_routes(cfg: &mut web::ServiceConfig, state: web::Data<IngestState>) {
    cfg.app_data(state)
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

/// Registers the operations routes and state on an actix `App`.
pub fn ops_routes(cfg: &mut web::ServiceConfig, state: web::Data<IngestState>) {
    cfg.app_data(state)
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
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
