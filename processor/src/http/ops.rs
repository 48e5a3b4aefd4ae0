//! `/healthz`, `/readyz`, `/metrics` and `GET /data-deletion/{code}`.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::problems::ApiError;
use super::ProcessorState;

/// How long `/readyz` waits for the database.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the consumer loop is processing (not retrying a failure) and the
/// database answers.
pub async fn readyz(state: web::Data<ProcessorState>) -> Result<HttpResponse, ApiError> {
    state.health.check().map_err(ApiError::NotReady)?;
    match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(json!({"status": "ready"}))),
        _ => Err(ApiError::NotReady("database unreachable".into())),
    }
}

/// Prometheus text exposition of the processor's metrics.
pub async fn metrics(state: web::Data<ProcessorState>) -> HttpResponse {
    graphhook_web::metrics_response(&state.metrics.registry)
}

/// The status of a data-deletion request, by the confirmation code Meta showed the
/// user. Public: the code is the only secret, and nothing about the user is shown.
pub async fn deletion_status(
    state: web::Data<ProcessorState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let status = state
        .store
        .deletion_status(&code)
        .await?
        .ok_or(ApiError::NotFound("data-deletion request"))?;
    Ok(HttpResponse::Ok().json(status))
}
