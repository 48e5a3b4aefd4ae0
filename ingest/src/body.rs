//! Reads a request body under ingest's limits (size, deadline, the shared byte
//! budget), mapping refusals to [`IngestError`].

use actix_web::web::Payload;
use actix_web::HttpRequest;
use graphhook_web::{read_body, Body, BodyError};

use crate::problems::IngestError;
use crate::state::IngestState;

/// The body, or 413 (too large), 408 (too slow), 503 (budget full, retry).
pub async fn read_limited(
    req: &HttpRequest,
    payload: Payload,
    state: &IngestState,
) -> Result<Body, IngestError> {
    read_body(req, payload, state.body, &state.budget)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge { limit } => IngestError::PayloadTooLarge { limit },
            BodyError::TimedOut => IngestError::BodyTimedOut,
            BodyError::Busy => IngestError::Busy,
            BodyError::Unreadable(error) => IngestError::BodyUnreadable(error.into()),
        })
}

/// The request's content type, as sent.
pub fn content_type(req: &HttpRequest) -> &str {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
