//! actix-http reports a request it cannot parse (malformed HTTP, from anyone on
//! the internet) as an ERROR event with no request around it. Those events are
//! kept out of the log output and written instead as rate-limited INFO lines:
//! outside input never produces ERROR lines.

use std::fmt::Write as _;
use std::time::Duration;

use graphhook_web::log_limit::LogLimiter;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Longest detail written.
const MAX_DETAIL: usize = 200;

/// Whether an event is actix-http's report of a connection it could not serve.
pub fn is_http_noise(metadata: &Metadata<'_>) -> bool {
    metadata.target().starts_with("actix_http::h1") && *metadata.level() <= Level::WARN
}

/// Rewrites [`is_http_noise`] events as `malformed request` INFO lines, at most
/// 20 per 10 seconds (the next line written counts those left out).
pub struct HttpNoise {
    limiter: LogLimiter,
}

impl Default for HttpNoise {
    fn default() -> Self {
        HttpNoise {
            limiter: LogLimiter::new(20, Duration::from_secs(10)),
        }
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for HttpNoise {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !is_http_noise(event.metadata()) {
            return;
        }
        let Some(suppressed) = self.limiter.admit("malformed") else {
            return;
        };
        let mut message = Message(String::new());
        event.record(&mut message);
        let detail = graphhook_web::printable_within(&message.0, MAX_DETAIL);
        tracing::info!(
            target: "graphhook::http",
            %detail,
            suppressed = (suppressed > 0).then_some(suppressed),
            "malformed request"
        );
    }
}
