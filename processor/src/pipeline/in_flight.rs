//! A batch whose transaction has committed and whose outputs are on their way to
//! Kafka. The consumer reads and applies the next batch meanwhile, and commits
//! this one's offsets only once its outputs are acknowledged, so the wait for the
//! broker overlaps the next batch's database work instead of following it.
//!
//! At most one batch is in flight, and the next one's outputs are sent only after
//! this one's are acknowledged: a key's records reach Kafka in the order their
//! events were applied, as when batches were sent one after the other.

use std::sync::Arc;

use rdkafka::message::OwnedMessage;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::batch::BatchProgress;
use super::relay::{Relay, RelayError};
use crate::store::OutboxRow;

/// What a send needs (kept to send again after a failure).
pub(super) struct Outputs {
    /// The batch's outbox rows.
    pub ids: Vec<i64>,
    /// Those of `ids` the batch wrote claimed, sent directly.
    pub claimed: Vec<OutboxRow>,
}

/// A committed batch whose outputs are being sent.
pub(super) struct InFlight {
    /// The batch's records (their offsets are committed once it is acknowledged).
    pub batch: Vec<OwnedMessage>,
    /// What applying it did (its report is recorded once it is acknowledged).
    pub progress: BatchProgress,
    /// When the batch was taken up, for the batch duration.
    pub started: Instant,
    /// The batch's outputs.
    pub outputs: Arc<Outputs>,
    sending: Option<JoinHandle<Result<(), RelayError>>>,
    outcome: Option<Result<(), RelayError>>,
}

impl InFlight {
    /// Starts sending `progress`'s outputs in a task of their own.
    pub fn start(
        relay: &Relay,
        batch: Vec<OwnedMessage>,
        mut progress: BatchProgress,
        started: Instant,
    ) -> Self {
        let outputs = Arc::new(Outputs {
            ids: std::mem::take(&mut progress.outbox_ids),
            claimed: std::mem::take(&mut progress.claimed),
        });
        let relay = relay.clone();
        let sent = Arc::clone(&outputs);
        let sending = tokio::spawn(async move { relay.flush(&sent.ids, &sent.claimed).await });
        InFlight {
            batch,
            progress,
            started,
            outputs,
            sending: Some(sending),
            outcome: None,
        }
    }

    /// Waits for the send to finish and returns its outcome, the same on every
    /// call; cancel-safe (a wait interrupted here leaves the send going). After a
    /// failure, the caller sends [`InFlight::outputs`] again itself.
    pub async fn settled(&mut self) -> Result<(), RelayError> {
        if let Some(sending) = self.sending.as_mut() {
            let joined = sending.await;
            self.sending = None;
            self.outcome = Some(joined.unwrap_or(Err(RelayError::Stopped)));
        }
        self.outcome.clone().unwrap_or(Err(RelayError::Stopped))
    }
}

impl Drop for InFlight {
    /// A loop that stops without finishing (a crash point in tests) leaves no send
    /// running behind it.
    fn drop(&mut self) {
        if let Some(sending) = &self.sending {
            sending.abort();
        }
    }
}
