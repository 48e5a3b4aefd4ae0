//! The HTTP error boundary of ingest: every handler error is an [`IngestError`], and
//! this module alone decides its status, title and detail, emitted as
//! `application/problem+json`. Causes are logged, never sent to callers.
//!
//! To add a variant: add it to the enum, then give it a status and a problem in
//! `status_code` and `problem`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use graphhook_web::Problem;

use crate::signature::SignatureError;
use crate::signed_request::CallbackError;
use graphhook_kafka::SendError;

/// Everything ingest's handlers can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// No route matches the request.
    #[error("no such route")]
    RouteNotFound,
    /// No app with that name is configured.
    #[error("unknown app")]
    UnknownApp,
    /// The delivery's signature was refused.
    #[error("signature refused: {0}")]
    Signature(#[from] SignatureError),
    /// A callback's signed_request was refused or unreadable.
    #[error("callback refused: {0}")]
    Callback(#[from] CallbackError),
    /// The handshake's mode or token is wrong, or no token is configured.
    #[error("subscription handshake refused")]
    HandshakeRefused,
    /// The body exceeds the configured limit.
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body did not arrive within `ingest.body_timeout_ms`.
    #[error("request body not received in time")]
    BodyTimedOut,
    /// Other requests hold `ingest.max_bytes_in_flight`.
    #[error("too many request bytes in flight")]
    Busy,
    /// The request body could not be read from the connection.
    #[error("request body could not be read")]
    BodyUnreadable(#[source] actix_web::Error),
    /// `ingest.public_base_url` is not set, so no data-deletion status URL exists.
    #[error("data-deletion callbacks need ingest.public_base_url")]
    DataDeletionNotConfigured,
    /// Kafka did not acknowledge the records in time.
    #[error("records not acknowledged by Kafka")]
    Unavailable(#[from] SendError),
    /// The broker is not reachable (readiness).
    #[error("not ready: {0}")]
    NotReady(String),
}

impl IngestError {
    /// The problem's type URI, title and detail.
    fn problem(&self) -> (&'static str, &'static str, String) {
        match self {
            IngestError::RouteNotFound => (
                "urn:graphhook:problem:not-found",
                "Not found",
                "No such route.".into(),
            ),
            IngestError::UnknownApp => (
                "urn:graphhook:problem:unknown-app",
                "Unknown app",
                "No app with this name is configured.".into(),
            ),
            IngestError::Signature(e) => (
                "urn:graphhook:problem:invalid-signature",
                "Invalid signature",
                e.to_string(),
            ),
            IngestError::Callback(CallbackError::Malformed(e)) => (
                "urn:graphhook:problem:invalid-signed-request",
                "Invalid signed_request",
                e.to_string(),
            ),
            IngestError::Callback(e) => (
                "urn:graphhook:problem:invalid-signature",
                "Invalid signature",
                e.to_string(),
            ),
            IngestError::HandshakeRefused => (
                "urn:graphhook:problem:handshake-refused",
                "Subscription handshake refused",
                "The mode or verify token does not match.".into(),
            ),
            IngestError::PayloadTooLarge { limit } => (
                "urn:graphhook:problem:payload-too-large",
                "Payload too large",
                format!("The body exceeds the limit of {limit} bytes."),
            ),
            IngestError::BodyTimedOut => (
                "urn:graphhook:problem:body-timeout",
                "Body too slow",
                "The request body did not arrive in time.".into(),
            ),
            IngestError::Busy => (
                "urn:graphhook:problem:busy",
                "Busy",
                "Too many requests are being received; retry later.".into(),
            ),
            IngestError::BodyUnreadable(_) => (
                "urn:graphhook:problem:body-unreadable",
                "Body unreadable",
                "The request body could not be read.".into(),
            ),
            IngestError::DataDeletionNotConfigured => (
                "urn:graphhook:problem:not-configured",
                "Data-deletion callback not configured",
                "This endpoint needs a public base URL in graphhook's configuration.".into(),
            ),
            IngestError::Unavailable(_) => (
                "urn:graphhook:problem:unavailable",
                "Temporarily unavailable",
                "The delivery could not be stored in time; retry later.".into(),
            ),
            IngestError::NotReady(_) => (
                "urn:graphhook:problem:not-ready",
                "Not ready",
                "The message broker is not reachable.".into(),
            ),
        }
    }
}

impl ResponseError for IngestError {
    fn status_code(&self) -> StatusCode {
        match self {
            IngestError::RouteNotFound
            | IngestError::UnknownApp
            | IngestError::DataDeletionNotConfigured => StatusCode::NOT_FOUND,
            IngestError::Signature(_) => StatusCode::UNAUTHORIZED,
            IngestError::Callback(CallbackError::Malformed(_)) => StatusCode::BAD_REQUEST,
            IngestError::Callback(_) => StatusCode::UNAUTHORIZED,
            IngestError::HandshakeRefused => StatusCode::FORBIDDEN,
            IngestError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::BodyUnreadable(_) => StatusCode::BAD_REQUEST,
            IngestError::BodyTimedOut => StatusCode::REQUEST_TIMEOUT,
            IngestError::Busy | IngestError::Unavailable(_) | IngestError::NotReady(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (kind, title, detail) = self.problem();
        Problem::new(self.status_code(), kind, title, detail).response()
    }
}
