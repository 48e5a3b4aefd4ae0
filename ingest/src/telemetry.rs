//! Request spans and request metrics.
//!
//! The root span carries the request id, method, route pattern, app and status. It
//! deliberately records neither the query string (the handshake's verify token is
//! there) nor headers (signatures).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use tokio::time::Instant;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::metrics::IngestMetrics;

/// Builds graphhook's request spans.
pub struct GraphhookRootSpan;

impl RootSpanBuilder for GraphhookRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "http_request",
            request_id = %request_id,
            http.method = %request.method(),
            http.route = route_label(request.path()),
            app = tracing::field::Empty,
            app_id = tracing::field::Empty,
            http.status_code = tracing::field::Empty,
            error = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        match outcome {
            Ok(response) => {
                span.record("http.status_code", response.status().as_u16());
                if let Some(error) = response.response().error() {
                    span.record("error", tracing::field::display(error));
                }
            }
            Err(error) => {
                span.record("error", tracing::field::display(error));
            }
        }
    }
}

/// The route pattern of a path, e.g. `/webhooks/{app}`: a bounded metric label.
///
/// Derived from the path rather than with `match_pattern()`, which re-runs the
/// router's regexes on every request (a measurable share of ingest's CPU). A test
/// checks that it agrees with the router for every route.
pub fn route_label(path: &str) -> &'static str {
    let one_segment = |rest: &str| !rest.is_empty() && !rest.contains('/');
    match path {
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        _ => {
            if path.strip_prefix("/webhooks/").is_some_and(one_segment) {
                return "/webhooks/{app}";
            }
            let Some(rest) = path.strip_prefix("/callbacks/") else {
                return "unmatched";
            };
            match rest.split_once('/') {
                Some((app, "deauthorize")) if !app.is_empty() => "/callbacks/{app}/deauthorize",
                Some((app, "data-deletion")) if !app.is_empty() => "/callbacks/{app}/data-deletion",
                _ => "unmatched",
            }
        }
    }
}

/// Counts requests by route, method and status, times them, and tracks in-flight
/// requests.
pub async fn request_metrics(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let metrics = request.app_data::<web::Data<IngestMetrics>>().cloned();
    let Some(metrics) = metrics else {
        return next.call(request).await;
    };
    let route = route_label(request.path());
    let method = graphhook_web::method_label(request.method());
    let started = Instant::now();
    metrics.in_flight.inc();
    let result = next.call(request).await;
    metrics.in_flight.dec();
    let status = match &result {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    metrics
        .http_requests
        .with_label_values(&[route, method, &status.to_string()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[route])
        .observe(started.elapsed().as_secs_f64());
    result
}
