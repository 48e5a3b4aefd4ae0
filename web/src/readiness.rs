//! Readiness answered from a cached check. A task runs the real check (broker,
//! database, consumer loop) at a steady pace; `/readyz` and the `..._ready` gauge
//! both read its latest result, so a flood of health checks costs nothing and the
//! two never disagree. On shutdown, [`Readiness::drain`] makes both say "not
//! ready" while the listener still serves, so a load balancer stops sending first.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::IntGauge;
use tokio::sync::watch;
use tokio::time::Instant;

/// The cached readiness of one process.
#[derive(Debug, Clone)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    latest: Mutex<Latest>,
    draining: AtomicBool,
    gauge: IntGauge,
    max_age: Duration,
}

#[derive(Debug)]
struct Latest {
    result: Result<(), String>,
    at: Option<Instant>,
}

impl Readiness {
    /// Not ready ("starting") until the first check; a result older than `max_age`
    /// counts as not ready (the check itself is stuck). `gauge` mirrors it.
    pub fn new(gauge: IntGauge, max_age: Duration) -> Self {
        gauge.set(0);
        Readiness {
            inner: Arc::new(Inner {
                latest: Mutex::new(Latest {
                    result: Err("starting".to_owned()),
                    at: None,
                }),
                draining: AtomicBool::new(false),
                gauge,
                max_age,
            }),
        }
    }

    /// Records a check's result, logging changes (not ready is a warning: the
    /// cause is a dependency, and whoever fails logs why).
    pub fn record(&self, result: Result<(), String>) {
        let Ok(mut latest) = self.inner.latest.lock() else {
            return;
        };
        if latest.result != result {
            match &result {
                Ok(()) => tracing::info!("ready"),
                Err(reason) => tracing::warn!(%reason, "not ready"),
            }
        }
        latest.result = result;
        latest.at = Some(Instant::now());
        drop(latest);
        self.current().ok();
    }

    /// From now on, not ready ("draining"): the process is stopping.
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
        self.inner.gauge.set(0);
    }

    /// `Ok` when ready, else why not; also sets the gauge to match.
    pub fn current(&self) -> Result<(), String> {
        let result = self.evaluate();
        self.inner.gauge.set(i64::from(result.is_ok()));
        result
    }

    fn evaluate(&self) -> Result<(), String> {
        if self.inner.draining.load(Ordering::SeqCst) {
            return Err("draining".to_owned());
        }
        let latest = self
            .inner
            .latest
            .lock()
            .map_err(|_| "readiness unknown".to_owned())?;
        match latest.at {
            Some(at) if at.elapsed() > self.inner.max_age => {
                Err("the readiness check is stuck".to_owned())
            }
            _ => latest.result.clone(),
        }
    }

    /// Runs `check` every `interval` and records its result until `stop` turns true
    /// (or its sender is dropped).
    pub async fn keep_checking<F, Fut>(
        self,
        interval: Duration,
        mut check: F,
        mut stop: watch::Receiver<bool>,
    ) where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        loop {
            let result = check().await;
            self.record(result);
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readiness(max_age: Duration) -> (Readiness, IntGauge) {
        let gauge = IntGauge::new("test_ready", "test").expect("gauge");
        (Readiness::new(gauge.clone(), max_age), gauge)
    }

    #[tokio::test]
    async fn the_gauge_follows_the_answer() {
        let (readiness, gauge) = readiness(Duration::from_secs(60));
        assert_eq!(readiness.current(), Err("starting".to_owned()));
        assert_eq!(gauge.get(), 0);
        readiness.record(Ok(()));
        assert_eq!(readiness.current(), Ok(()));
        assert_eq!(gauge.get(), 1);
        readiness.record(Err("database unreachable".into()));
        assert_eq!(gauge.get(), 0);
        readiness.record(Ok(()));
        readiness.drain();
        assert_eq!(gauge.get(), 0);
        assert_eq!(readiness.current(), Err("draining".to_owned()));
        readiness.record(Ok(()));
        assert_eq!(readiness.current(), Err("draining".to_owned()));
        assert_eq!(gauge.get(), 0);
    }

    #[tokio::test]
    async fn a_stale_result_is_not_ready() {
        let (readiness, gauge) = readiness(Duration::from_millis(30));
        readiness.record(Ok(()));
        assert_eq!(gauge.get(), 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(readiness.current().is_err());
        assert_eq!(gauge.get(), 0);
    }
}
