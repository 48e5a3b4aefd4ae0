//! Retrying a batch: the backoff, readiness while failing, and the partitions
//! paused meanwhile (the consumer keeps polling, so it stays in its group; what
//! arrives is kept for the next batch).

use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::message::OwnedMessage;
use rdkafka::TopicPartitionList;
use tokio::sync::watch;

use super::backoff::Backoff;
use super::consumer::{BatchError, EventLoop};

/// Why the loop stops before the stream ends.
pub(super) enum Stop {
    /// Shutdown was asked for while retrying.
    Shutdown,
    /// A test's crash point was reached.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    Crash,
}

/// The state of one batch's retries: the backoff and the partitions paused.
pub(super) struct Retry {
    backoff: Backoff,
    paused: Option<TopicPartitionList>,
}

impl Retry {
    pub(super) fn new(initial: Duration) -> Self {
        Retry {
            backoff: Backoff::new(initial),
            paused: None,
        }
    }

    /// Counts and logs a failed attempt, marks the processor not ready and pauses
    /// its partitions (the consumer keeps polling, so it stays in its group).
    pub(super) fn failed(&mut self, event_loop: &EventLoop, error: &BatchError) {
        let cause = error.cause();
        let source = std::error::Error::source(error).map(ToString::to_string);
        tracing::warn!(%error, ?source, retry_in_ms = self.backoff.delay().as_millis() as u64, "batch failed; retrying");
        event_loop
            .services
            .metrics
            .retries
            .with_label_values(&[cause])
            .inc();
        event_loop
            .health
            .set_not_ready(&format!("{cause} unavailable; retrying"));
        if self.paused.is_none() {
            self.paused = event_loop.pause();
        }
    }

    /// Waits before the next attempt, keeping records that arrive in `carry`.
    pub(super) async fn wait(
        &mut self,
        event_loop: &EventLoop,
        carry: &mut Vec<OwnedMessage>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        let wait = tokio::time::sleep(self.backoff.next_wait());
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => return Ok(()),
                _ = shutdown.changed() => return Err(Stop::Shutdown),
                message = event_loop.consumer.recv() => match message {
                    Ok(message) => carry.extend(event_loop.watched(message.detach())),
                    Err(error) => tracing::debug!(%error, "consumer error while paused"),
                },
            }
        }
    }
}

impl EventLoop {
    /// After a success: partitions paused by failures resume, readiness returns.
    pub(super) fn recovered(&self, retry: Retry) {
        if let Some(partitions) = retry.paused {
            if let Err(error) = self.consumer.resume(&partitions) {
                tracing::debug!(%error, "cannot resume partitions (reassigned?)");
            }
        }
        self.health.set_ready();
    }

    fn pause(&self) -> Option<TopicPartitionList> {
        let assignment = self.consumer.assignment().ok()?;
        match self.consumer.pause(&assignment) {
            Ok(()) => Some(assignment),
            Err(error) => {
                tracing::debug!(%error, "cannot pause partitions");
                None
            }
        }
    }
}
