//! Rate limits for log lines that outsiders can cause (refused signatures,
//! unknown routes, malformed requests): a sender should not be able to fill the
//! disk or bury the lines that matter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// At most `burst` lines of each kind per `window`; lines over the limit are
/// counted, and the next line written says how many were left out.
#[derive(Debug)]
pub struct LogLimiter {
    window: Duration,
    burst: u32,
    kinds: Mutex<HashMap<&'static str, Window>>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    written: u32,
    suppressed: u64,
}

impl LogLimiter {
    /// A limiter of `burst` lines per kind per `window`.
    pub fn new(burst: u32, window: Duration) -> Self {
        LogLimiter {
            window,
            burst,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(left_out)` when a line of `kind` may be written now (`left_out`: lines
    /// of this kind suppressed since the last one written), `None` when it may not.
    pub fn admit(&self, kind: &'static str) -> Option<u64> {
        let now = Instant::now();
        let mut kinds = self.kinds.lock().ok()?;
        let window = kinds.entry(kind).or_insert(Window {
            started: now,
            written: 0,
            suppressed: 0,
        });
        if now.duration_since(window.started) >= self.window {
            window.started = now;
            window.written = 0;
        }
        if window.written >= self.burst {
            window.suppressed += 1;
            return None;
        }
        window.written += 1;
        Some(std::mem::take(&mut window.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_over_the_burst_are_counted_and_reported_later() {
        let limiter = LogLimiter::new(2, Duration::from_millis(40));
        assert_eq!(limiter.admit("a"), Some(0));
        assert_eq!(limiter.admit("a"), Some(0));
        assert_eq!(limiter.admit("a"), None);
        assert_eq!(limiter.admit("a"), None);
        assert_eq!(limiter.admit("b"), Some(0), "kinds are limited apart");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(limiter.admit("a"), Some(2));
        assert_eq!(limiter.admit("a"), Some(0));
    }
}
