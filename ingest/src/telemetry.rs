//! Route labels and request metrics. Request spans and request lines are
//! `graphhook_web`'s ([`graphhook_web::RequestSpan`], [`graphhook_web::access_log`](mod@graphhook_web::access_log)).

use std::borrow::Cow;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use tokio::time::Instant;

use crate::metrics::IngestMetrics;

/// The route pattern of a path on the public listener, e.g. `/webhooks/{app}`: a
/// bounded metric label (`unmatched` for anything else).
///
/// Derived from the path rather than with `match_pattern()`, which re-runs the
/// router's regexes on every request (a measurable share of ingest's CPU). A test
/// checks that it agrees with the router for every route.
pub fn public_route_label(path: &str) -> &'static str {
    let one_segment = |rest: &str| !rest.is_empty() && !rest.contains('/');
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

/// The route pattern of a path on the operations listener.
pub fn ops_route_label(path: &str) -> &'static str {
    match path {
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        _ => "unmatched",
    }
}

/// [`public_route_label`] for request lines.
pub fn public_route(request: &ServiceRequest) -> Cow<'static, str> {
    Cow::Borrowed(public_route_label(request.path()))
}

/// [`ops_route_label`] for request lines.
pub fn ops_route(request: &ServiceRequest) -> Cow<'static, str> {
    Cow::Borrowed(ops_route_label(request.path()))
}

/// Counts requests by route, method and status, times them, and tracks in-flight
/// requests (the public listener's).
pub async fn request_metrics(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let metrics = request.app_data::<web::Data<IngestMetrics>>().cloned();
    let Some(metrics) = metrics else {
        return next.call(request).await;
    };
    let route = public_route_label(request.path());
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
