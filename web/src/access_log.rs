//! Request spans and one log line per request, written for the operator reading
//! them at 2 a.m.: who sent it (client address, through trusted proxies only; user
//! agent), what it hit (route pattern, never the query string, which can hold a
//! verify token or an access token), what it got and how long it took.
//!
//! Requests from outside never produce ERROR lines: successes are written at a
//! configurable level, refusals (401, 403) as rate-limited WARN, other client
//! errors as rate-limited INFO, and failures on our side (5xx) as rate-limited WARN
//! beside the ERROR their cause writes where it happens.

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, USER_AGENT};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::{Level, Span};
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::log_limit::LogLimiter;

/// Lines of one kind written per window before the rest are only counted.
const BURST: u32 = 20;
/// The rate limit's window.
const WINDOW: Duration = Duration::from_secs(10);
/// Longest user agent or path written.
const MAX_TEXT: usize = 160;

/// The level of request lines of successful requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuccessLevel {
    /// Not written.
    Off,
    /// `TRACE`.
    Trace,
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
}

impl SuccessLevel {
    fn level(self) -> Option<Level> {
        match self {
            SuccessLevel::Off => None,
            SuccessLevel::Trace => Some(Level::TRACE),
            SuccessLevel::Debug => Some(Level::DEBUG),
            SuccessLevel::Info => Some(Level::INFO),
        }
    }
}

/// How request lines are written (`[log]`: `success_level`, `trusted_proxies`).
#[derive(Debug, Clone)]
pub struct RequestLogSettings {
    /// The level of lines of successful requests on the public listeners.
    pub success_level: SuccessLevel,
    /// Peers whose `X-Forwarded-For` is believed (load balancers, proxies).
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for RequestLogSettings {
    fn default() -> Self {
        RequestLogSettings {
            success_level: SuccessLevel::Info,
            trusted_proxies: Vec::new(),
        }
    }
}

impl RequestLogSettings {
    /// The level of successful requests on operations listeners (probes and
    /// scrapes, every few seconds): at most `DEBUG`.
    pub fn ops_level(&self) -> SuccessLevel {
        match self.success_level {
            SuccessLevel::Info => SuccessLevel::Debug,
            other => other,
        }
    }
}

/// The route pattern of a request (a bounded value: `unmatched` for the rest).
pub type RouteOf = fn(&ServiceRequest) -> Cow<'static, str>;

/// How one listener writes its request lines (registered as `web::Data`).
#[derive(Debug)]
pub struct AccessLog {
    trusted_proxies: Vec<IpNet>,
    success: SuccessLevel,
    route: RouteOf,
    limiter: LogLimiter,
}

impl AccessLog {
    /// Request lines with successes at `success`; `X-Forwarded-For` is believed
    /// only from `settings.trusted_proxies`.
    pub fn new(settings: &RequestLogSettings, success: SuccessLevel, route: RouteOf) -> Self {
        AccessLog {
            trusted_proxies: settings.trusted_proxies.clone(),
            success,
            route,
            limiter: LogLimiter::new(BURST, WINDOW),
        }
    }
}

/// The root span of every request: request id, method, and the app and account
/// handlers record. Neither the query string nor headers are recorded.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "http_request",
            request_id = %request_id,
            http.method = crate::method_label(request.method()),
            app = tracing::field::Empty,
            app_id = tracing::field::Empty,
            account_id = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(_: Span, _: &Result<ServiceResponse<B>, Error>) {}
}

/// What a request line says about the request.
struct Seen {
    route: Cow<'static, str>,
    path: Option<String>,
    peer: Option<IpAddr>,
    client: Option<IpAddr>,
    user_agent: String,
}

/// Writes one line per request (middleware; does nothing without an
/// [`AccessLog`] in the app's data).
pub async fn access_log(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(log) = request.app_data::<web::Data<AccessLog>>().cloned() else {
        return next.call(request).await;
    };
    let route = (log.route)(&request);
    let peer = request.peer_addr().map(|address| address.ip());
    let seen = Seen {
        path: (route == "unmatched").then(|| printable(request.path())),
        client: client_address(peer, request.headers(), &log.trusted_proxies),
        user_agent: request
            .headers()
            .get(USER_AGENT)
            .map(|v| printable(&String::from_utf8_lossy(v.as_bytes())))
            .unwrap_or_default(),
        route,
        peer,
    };
    let started = Instant::now();
    let result = next.call(request).await;
    let (status, error) = match &result {
        Ok(response) => (
            response.status(),
            response.response().error().map(ToString::to_string),
        ),
        Err(error) => (
            error.as_response_error().status_code(),
            Some(error.to_string()),
        ),
    };
    write_line(&log, &seen, status, error, started.elapsed());
    result
}

fn write_line(
    log: &AccessLog,
    seen: &Seen,
    status: StatusCode,
    error: Option<String>,
    took: Duration,
) {
    let (level, kind) = match status.as_u16() {
        401 | 403 => (Some(Level::WARN), "refused"),
        400..=499 => (Some(Level::INFO), "client_error"),
        500..=599 => (Some(Level::WARN), "server_error"),
        _ => (log.success.level(), "success"),
    };
    let Some(level) = level else { return };
    let suppressed = if kind == "success" {
        0
    } else {
        match log.limiter.admit(kind) {
            Some(left_out) => left_out,
            None => return,
        }
    };
    macro_rules! line {
        ($level:expr) => {
            tracing::event!(
                $level,
                http.route = %seen.route,
                http.path = seen.path.as_deref(),
                http.status_code = status.as_u16(),
                client = seen.client.map(tracing::field::display),
                peer = seen.peer.map(tracing::field::display),
                user_agent = %seen.user_agent,
                duration_ms = took.as_secs_f64() * 1000.0,
                error = error.as_deref(),
                suppressed = (suppressed > 0).then_some(suppressed),
                "request"
            )
        };
    }
    match level {
        Level::TRACE => line!(Level::TRACE),
        Level::DEBUG => line!(Level::DEBUG),
        Level::INFO => line!(Level::INFO),
        _ => line!(Level::WARN),
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for value in headers.get_all("x-forwarded-for").rev() {
        let Ok(value) = value.to_str() else {
            return Some(client);
        };
        for hop in value.rsplit(',') {
            let Some(ip) = parse_hop(hop) else {
                return Some(client);
            };
            client = ip;
            if !is_trusted(&ip) {
                return Some(client);
            }
        }
    }
    Some(client)
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    let unbracketed = hop.strip_prefix('[').and_then(|h| h.split_once(']'));
    if let Some((ip, _port)) = unbracketed {
        return ip.parse().ok();
    }
    hop.rsplit_once(':').and_then(|(ip, _port)| ip.parse().ok())
}

/// Text from outside made fit for a log line: at most [`MAX_TEXT`] characters,
/// control characters replaced by `?`.
fn printable(text: &str) -> String {
    printable_within(text, MAX_TEXT)
}

/// Text from outside made fit for a log line: at most `max` characters, control
/// characters replaced by `?` (no terminal escapes, no forged lines).
pub fn printable_within(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in forwarded {
            map.append(
                "x-forwarded-for".parse().expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("ip"));
        let spoofed = headers(&["203.0.113.9"]);
        assert_eq!(
            client_address(ip("198.51.100.7"), &spoofed, &trusted),
            ip("198.51.100.7"),
            "an untrusted peer's header is ignored"
        );
        let chain = headers(&["1.2.3.4, 198.51.100.7", "10.0.0.5"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &chain, &trusted),
            ip("198.51.100.7"),
            "the nearest untrusted hop, not the leftmost (which the client can forge)"
        );
        let garbage = headers(&["not-an-ip"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &garbage, &trusted),
            ip("10.0.0.1")
        );
        let with_port = headers(&["[2001:db8::1]:443"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &with_port, &trusted),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn text_from_outside_is_bounded_and_printable() {
        assert_eq!(printable("curl/8\u{1b}[31m\n"), "curl/8?[31m?");
        assert_eq!(printable(&"x".repeat(1000)).len(), MAX_TEXT);
    }
}
