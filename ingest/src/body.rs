//! Reads a request body up to the configured limit, refusing larger ones from their
//! `Content-Length` before reading anything.

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{Bytes, Payload};
use actix_web::HttpRequest;

use crate::problems::IngestError;

/// The body, or 413 when it is (or announces itself as) larger than `limit`.
pub async fn read_limited(
    req: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> Result<Bytes, IngestError> {
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit as u64) {
        return Err(IngestError::PayloadTooLarge { limit });
    }
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(IngestError::BodyUnreadable(error)),
        Err(_exceeded) => Err(IngestError::PayloadTooLarge { limit }),
    }
}

/// The request's content type, as sent.
pub fn content_type(req: &HttpRequest) -> &str {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
