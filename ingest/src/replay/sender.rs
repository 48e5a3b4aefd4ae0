//! Sends re-driven records and awaits their acknowledgements in windows.

use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use super::ReplayError;

/// Acknowledgements awaited at a time.
const IN_FLIGHT: usize = 1_000;

/// Sends records and awaits their acknowledgements in windows.
/// A windowed sender.
pub(super) struct Sender {
    producer: FutureProducer,
    pending: Vec<DeliveryFuture>,
}

impl Sender {
    pub(super) fn new(producer: FutureProducer) -> Self {
        Sender {
            producer,
            pending: Vec::new(),
        }
    }

    pub(super) fn send(
        &mut self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<(), ReplayError> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        let future = self
            .producer
            .send_result(record)
            .map_err(|(error, _)| ReplayError::Kafka(error))?;
        self.pending.push(future);
        Ok(())
    }

    /// Awaits the acknowledgements once the window is full.
    pub(super) async fn settle_some(&mut self) -> Result<(), ReplayError> {
        if self.pending.len() >= IN_FLIGHT {
            self.settle_all().await?;
        }
        Ok(())
    }

    /// Awaits every outstanding acknowledgement.
    pub(super) async fn settle_all(&mut self) -> Result<(), ReplayError> {
        for future in self.pending.drain(..) {
            match future.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(ReplayError::Kafka(error)),
                Err(_) => return Err(ReplayError::Kafka(rdkafka::error::KafkaError::Canceled)),
            }
        }
        Ok(())
    }
}
