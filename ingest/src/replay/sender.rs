//! Sends re-driven records through the shared [`AckedSender`] in windows, awaiting
//! each window's acknowledgements before the next.

use std::time::Duration;

use graphhook_kafka::{AckedSender, Record};
use rdkafka::message::OwnedHeaders;

use super::ReplayError;

/// Records sent per window.
const WINDOW: usize = 1_000;
/// How long a window may take to be acknowledged.
const WINDOW_DEADLINE: Duration = Duration::from_secs(30);

/// A windowed sender.
pub(super) struct Sender {
    sender: AckedSender,
    window: Vec<Record>,
}

impl Sender {
    pub(super) fn new(sender: AckedSender) -> Self {
        Sender {
            sender,
            window: Vec::with_capacity(WINDOW),
        }
    }

    /// Queues a record; it is sent with its window.
    pub(super) fn send(
        &mut self,
        topic: &str,
        key: String,
        payload: Vec<u8>,
        headers: OwnedHeaders,
    ) {
        self.window.push(Record {
            topic: topic.into(),
            key,
            payload,
            headers,
        });
    }

    /// Sends the window once it is full and awaits its acknowledgements.
    pub(super) async fn settle_some(&mut self) -> Result<(), ReplayError> {
        if self.window.len() >= WINDOW {
            self.settle_all().await?;
        }
        Ok(())
    }

    /// Sends what is queued and awaits every acknowledgement.
    pub(super) async fn settle_all(&mut self) -> Result<(), ReplayError> {
        let window = std::mem::take(&mut self.window);
        self.sender
            .send_all(window, WINDOW_DEADLINE)
            .await
            .map_err(ReplayError::Send)
    }
}
