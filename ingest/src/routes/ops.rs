//! The operations listener: `/healthz`, `/readyz` and `/metrics`, and the
//! readiness check `/readyz` answers from.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::problems::IngestError;
use crate::publisher::Publisher;
use crate::state::IngestState;

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The latest readiness check's result (see [`check`]); "draining" once SIGTERM
/// was received.
pub async fn readyz(state: web::Data<IngestState>) -> Result<HttpResponse, IngestError> {
    state.readiness.current().map_err(IngestError::NotReady)?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}

/// Ready when deliveries can be stored: the producer is not broken, the latest
/// delivery did not fail to be stored (within the last seconds), and the broker
/// answers a metadata request for the deliveries topic within `timeout`.
pub async fn check(publisher: Publisher, timeout: Duration) -> Result<(), String> {
    publisher.storing()?;
    publisher.broker_answers(timeout).await
}

/// Prometheus text exposition of ingest's metrics.
pub async fn metrics(state: web::Data<IngestState>) -> HttpResponse {
    let replaced = state.publisher.producers_replaced();
    let counted = state.metrics.producers_replaced.get();
    if replaced > counted {
        state.metrics.producers_replaced.inc_by(replaced - counted);
    }
    state
        .metrics
        .body_bytes_in_flight
        .set(i64::try_from(state.budget.held()).unwrap_or(i64::MAX));
    state.readiness.current().ok();
    graphhook_web::metrics_response(&state.metrics.registry)
}
