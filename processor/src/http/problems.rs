//! The HTTP error boundary of the processor: every handler error is an
//! [`ApiError`], and this module alone decides its status and problem body
//! (`application/problem+json` via `graphhook_web::Problem`, `Retry-After` on 503). Causes are logged, never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use graphhook_web::log_limit::LogLimiter;
use graphhook_web::Problem;

use crate::store::{Disposition, StoreError};
use crate::unit_of_work::WorkError;

/// Everything the processor's handlers can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No route matches, or the admin API is not configured.
    #[error("no such route")]
    RouteNotFound,
    /// No bearer token, or the wrong one.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// The named resource does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The body exceeds `processor.max_body_bytes`.
    #[error("request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    /// The database failed.
    #[error("database unavailable")]
    Store(StoreError),
    /// The request conflicts with an earlier one (the same `request_id` for a
    /// different request).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A method the route does not serve (to a caller with the admin token).
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// The processor is stalled (readiness).
    #[error("not ready: {0}")]
    NotReady(String),
    /// The request conflicts with the configuration (e.g. no token keys).
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
    /// Meta refused what was asked (a token it does not accept).
    #[error("refused by Meta: {0}")]
    RefusedByMeta(String),
    /// The token does not act for the account the path names.
    #[error("token not for this account: {0}")]
    TokenNotForAccount(&'static str),
    /// Meta could not be asked now (throttled, unreachable); retry later.
    #[error("Meta is unavailable")]
    MetaUnavailable,
}

impl From<crate::tokens::registration::RegistrationError> for ApiError {
    fn from(error: crate::tokens::registration::RegistrationError) -> Self {
        use crate::tokens::registration::RegistrationError::*;
        match error {
            NotConfigured => ApiError::NotConfigured("tokens.keys and tokens.active_key"),
            NoInstagramApp => ApiError::NotConfigured(
                "the app's instagram_app_id and instagram_app_secret (Instagram-login tokens are checked on graph.instagram.com with them)",
            ),
            NotForAccount(why) => ApiError::TokenNotForAccount(why),
            UnknownApp => ApiError::NotFound("app"),
            Invalid(detail) => ApiError::BadRequest(detail),
            Rejected(detail) => ApiError::RefusedByMeta(detail),
            Meta(error) => {
                tracing::warn!(%error, "token registration: Meta could not be asked");
                ApiError::MetaUnavailable
            }
            Store(error) => error.into(),
            Cipher(error) => ApiError::Store(crate::store::StoreError::Corrupt(error.to_string())),
        }
    }
}

/// A database that refused what the request asked it to store or compare is a
/// bad request, not an outage: never a `503` that invites the caller to retry.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error.disposition() {
            Disposition::Refused(why) => {
                tracing::debug!(reason = %why, "the database refused a value from a request");
                ApiError::BadRequest("a value in the request cannot be stored".to_owned())
            }
            Disposition::Transient => ApiError::Store(error),
        }
    }
}

impl From<WorkError> for ApiError {
    fn from(error: WorkError) -> Self {
        match error {
            WorkError::Store(error) => error.into(),
            WorkError::Rejected(rejection) => ApiError::BadRequest(rejection.0),
        }
    }
}

impl ApiError {
    fn problem(&self) -> (&'static str, &'static str, String) {
        match self {
            ApiError::RouteNotFound => (
                "urn:graphhook:problem:not-found",
                "Not found",
                "No such route.".into(),
            ),
            ApiError::Unauthorized => (
                "urn:graphhook:problem:unauthorized",
                "Unauthorized",
                "A valid bearer token is required.".into(),
            ),
            ApiError::NotFound(what) => (
                "urn:graphhook:problem:not-found",
                "Not found",
                format!("No such {what}."),
            ),
            ApiError::BadRequest(detail) => (
                "urn:graphhook:problem:bad-request",
                "Bad request",
                detail.clone(),
            ),
            ApiError::PayloadTooLarge(limit) => (
                "urn:graphhook:problem:payload-too-large",
                "Payload too large",
                format!("The body exceeds the limit of {limit} bytes."),
            ),
            ApiError::Store(_) => (
                "urn:graphhook:problem:unavailable",
                "Temporarily unavailable",
                "The database is not available; retry later.".into(),
            ),
            ApiError::Conflict(detail) => {
                ("urn:graphhook:problem:conflict", "Conflict", detail.clone())
            }
            ApiError::MethodNotAllowed(_) => (
                "urn:graphhook:problem:method-not-allowed",
                "Method not allowed",
                "This route does not serve the method; Allow lists those it serves.".into(),
            ),
            ApiError::NotReady(reason) => (
                "urn:graphhook:problem:not-ready",
                "Not ready",
                format!("The processor is not processing: {reason}."),
            ),
            ApiError::NotConfigured(what) => (
                "urn:graphhook:problem:not-configured",
                "Not configured",
                format!("This needs {what} in graphhook's configuration."),
            ),
            ApiError::RefusedByMeta(detail) => (
                "urn:graphhook:problem:refused-by-meta",
                "Refused by Meta",
                detail.clone(),
            ),
            ApiError::TokenNotForAccount(why) => (
                "urn:graphhook:problem:token-not-for-account",
                "Token not for this account",
                format!("Meta says the token cannot act for this account: {why}."),
            ),
            ApiError::MetaUnavailable => (
                "urn:graphhook:problem:meta-unavailable",
                "Meta unavailable",
                "Meta's Graph API could not be asked now; retry later.".into(),
            ),
        }
    }
}

/// Lines about requests failed on the database: 5 a minute.
fn store_log() -> &'static LogLimiter {
    static LIMITER: std::sync::OnceLock<LogLimiter> = std::sync::OnceLock::new();
    LIMITER.get_or_init(|| LogLimiter::new(5, std::time::Duration::from_secs(60)))
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::RouteNotFound | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotConfigured(_) | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RefusedByMeta(_) | ApiError::TokenNotForAccount(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Store(_) | ApiError::NotReady(_) | ApiError::MetaUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Store(error) = self {
            // A database outage fails every request: a few lines a minute say so.
            if let Some(left_out) = store_log().admit("store") {
                tracing::warn!(%error, cause = ?std::error::Error::source(error), left_out, "request failed on the database");
            }
        }
        let (kind, title, detail) = self.problem();
        let mut response = Problem::new(self.status_code(), kind, title, detail).response();
        if let ApiError::MethodNotAllowed(allow) = self {
            response
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        }
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
