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

/// Ready when deliveries can be stored: the producer is not broken, the latest
/// delivery did not fail to be stored (within the last seconds), and the broker
/// answers a metadata request for the deliveries topic within the readiness
/// deadline.
pub async fn readyz(state: web::Data<IngestState>) -> Result<HttpResponse, IngestError> {
    state.publisher.storing().map_err(IngestError::NotReady)?;
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
    let replaced = state.publisher.producers_replaced();
    let counted = state.metrics.producers_replaced.get();
    if replaced > counted {
        state.metrics.producers_replaced.inc_by(replaced - counted);
    }
    graphhook_web::metrics_response(&state.metrics.registry)
}
