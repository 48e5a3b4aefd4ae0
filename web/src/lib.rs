//! HTTP pieces shared by ingest's and the processor's servers. Each server keeps
//! its own error type (its boundary) and maps it to a [`Problem`] in one place;
//! this crate only writes the response. It also holds what both edges need: bodies
//! read under a deadline and a shared byte budget, cached readiness with a drain
//! on shutdown, and request logs.

#![forbid(unsafe_code)]

pub mod access_log;
pub mod body;
pub mod log_limit;
pub mod readiness;
pub mod request_text;

pub use access_log::{
    access_log, printable_within, AccessLog, RequestLogSettings, RequestSpan, SuccessLevel,
};
pub use body::{read_body, Body, BodyBudget, BodyError, BodyLimits};
pub use readiness::Readiness;
pub use request_text::refuse_control_characters;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::HttpResponse;
use prometheus::{Encoder, Registry, TextEncoder};
use serde::Serialize;

/// Seconds a caller is asked to wait after a 503.
pub const RETRY_AFTER_SECS: &str = "5";

/// An RFC 9457 problem: type URI, title and a detail safe to show to callers.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// The problem's type URI (`urn:graphhook:problem:...`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Short, fixed summary.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened, without internals or secrets.
    pub detail: String,
}

impl Problem {
    /// A problem with `status`.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: String,
    ) -> Self {
        Problem {
            kind,
            title,
            status: status.as_u16(),
            detail,
        }
    }

    /// The `application/problem+json` response, with `Retry-After` on 503.
    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            ));
        }
        response.json(self)
    }
}

/// Binds `address` (port 0 picks a free one); the listener and the port bound.
pub fn bind(address: std::net::SocketAddr) -> std::io::Result<(std::net::TcpListener, u16)> {
    let listener = std::net::TcpListener::bind(address)?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

/// Prometheus text exposition of `registry`.
pub fn metrics_response(registry: &Registry) -> HttpResponse {
    let mut buffer = Vec::with_capacity(16 * 1024);
    let encoder = TextEncoder::new();
    match encoder.encode(&registry.gather(), &mut buffer) {
        Ok(()) => HttpResponse::Ok()
            .content_type(encoder.format_type())
            .body(buffer),
        Err(error) => {
            tracing::error!(%error, "cannot encode metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// An HTTP method as a metric label: the standard methods by name, anything a
/// client made up as `other` (a label per made-up method would grow `/metrics`
/// without bound).
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .find(|known| **known == method.as_str())
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        let made_up = Method::from_bytes(b"BREW").expect("a token is a method");
        assert_eq!(method_label(&made_up), "other");
    }
}
