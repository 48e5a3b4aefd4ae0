//! `/healthz`, `/readyz`, `/metrics` and `GET /data-deletion/{code}`.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::problems::ApiError;
use super::ProcessorState;

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The latest readiness check's result (the consumer loop processing, the
/// database and the broker answering; see `health::check`); "draining" once
/// SIGTERM was received. `graphhook_processor_ready` says the same.
pub async fn readyz(state: web::Data<ProcessorState>) -> Result<HttpResponse, ApiError> {
    state.readiness.current().map_err(ApiError::NotReady)?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}

/// Prometheus text exposition of the processor's metrics.
pub async fn metrics(state: web::Data<ProcessorState>) -> HttpResponse {
    state.readiness.current().ok();
    graphhook_web::metrics_response(&state.services.metrics.registry)
}

/// The status of a data-deletion request, by the confirmation code Meta showed the
/// user. Public: the code is the only secret, and nothing about the user is shown.
pub async fn deletion_status(
    state: web::Data<ProcessorState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let status = state
        .services
        .store
        .deletion_status(&code)
        .await?
        .ok_or(ApiError::NotFound("data-deletion request"))?;
    Ok(HttpResponse::Ok().json(status))
}
