//! `/healthz`, `/readyz` and `/metrics`.

use actix_web::{web, HttpResponse};
use rdkafka::producer::Producer;
use serde_json::json;

use crate::problems::IngestError;
use crate::state::IngestState;

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the broker answers a metadata request for the deliveries topic within
/// the readiness deadline.
pub async fn readyz(state: web::Data<IngestState>) -> Result<HttpResponse, IngestError> {
    let producer = state.publisher.producer();
    let topic = state.publisher.deliveries_topic().to_owned();
    let timeout = state.readiness_timeout;
    let result = tokio::task::spawn_blocking(move || {
        producer
            .client()
            .fetch_metadata(Some(&topic), timeout)
            .map(|_| ())
    })
    .await;
    match result {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(json!({"status": "ready"}))),
        Ok(Err(error)) => Err(IngestError::NotReady(error.to_string())),
        Err(join) => Err(IngestError::NotReady(join.to_string())),
    }
}

/// Prometheus text exposition of ingest's metrics.
pub async fn metrics(state: web::Data<IngestState>) -> HttpResponse {
    graphhook_web::metrics_response(&state.metrics.registry)
}
