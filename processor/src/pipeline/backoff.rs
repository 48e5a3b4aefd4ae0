//! Retry pacing and the shutdown check of the consumer loop.

use std::time::Duration;

use tokio::sync::watch;

/// The longest wait between retries.
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Exponential backoff with jitter: each wait is the current delay times a
/// random factor in [0.5, 1.5); the delay doubles up to `RETRY_MAX`.
#[derive(Debug, Clone)]
pub struct Backoff {
    delay: Duration,
}

impl Backoff {
    /// Starts at `initial`.
    pub fn new(initial: Duration) -> Self {
        Backoff { delay: initial }
    }

    /// The current delay, before jitter.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The next wait; doubles the delay for the one after.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.delay.mul_f64(0.5 + jitter());
        self.delay = (self.delay * 2).min(RETRY_MAX);
        wait
    }
}

/// Shutdown was asked for, or whoever could ask is gone (a dropped sender would
/// otherwise make `changed()` return at once, forever).
pub fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// A number in [0, 1) that differs between calls (spreads retries of replicas).
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1_000_000) / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_with_jitter_up_to_the_maximum() {
        let mut backoff = Backoff::new(Duration::from_millis(100));
        let first = backoff.next_wait();
        assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(150));
        assert_eq!(backoff.delay(), Duration::from_millis(200));
        for _ in 0..20 {
            backoff.next_wait();
        }
        assert_eq!(backoff.delay(), RETRY_MAX);
    }

    #[test]
    fn a_dropped_shutdown_sender_means_stop() {
        let (tx, rx) = watch::channel(false);
        assert!(!stopping(&rx));
        drop(tx);
        assert!(stopping(&rx));
        let (tx, rx) = watch::channel(false);
        let _ = tx.send(true);
        assert!(stopping(&rx));
    }
}
