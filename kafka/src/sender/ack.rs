//! Delivery reports routed to their call: one [`BatchAck`] per call, counted down by
//! each record's report.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use tokio::sync::oneshot;

/// The acknowledgement state of one call's records.
#[derive(Debug)]
pub struct BatchAck {
    remaining: AtomicUsize,
    done: Mutex<Option<oneshot::Sender<Result<(), KafkaError>>>>,
}

impl BatchAck {
    pub(super) fn new(records: usize) -> (Arc<Self>, oneshot::Receiver<Result<(), KafkaError>>) {
        let (tx, rx) = oneshot::channel();
        let ack = BatchAck {
            remaining: AtomicUsize::new(records),
            done: Mutex::new(Some(tx)),
        };
        (Arc::new(ack), rx)
    }

    fn finish(&self, outcome: Result<(), KafkaError>) {
        let sender = self.done.lock().ok().and_then(|mut done| done.take());
        if let Some(sender) = sender {
            // The caller may have given up already; then nobody is listening.
            let _ = sender.send(outcome);
        }
    }

    fn record_delivered(&self, result: Result<(), KafkaError>) {
        match result {
            Err(error) => self.finish(Err(error)),
            Ok(()) if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 => self.finish(Ok(())),
            Ok(()) => {}
        }
    }
}

/// Producer context that routes delivery reports to their call.
#[derive(Debug, Clone, Copy, Default)]
pub struct AckContext;

impl ClientContext for AckContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        crate::logging::log_line(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        crate::logging::log_client_error(&error, reason);
    }
}

impl ProducerContext for AckContext {
    type DeliveryOpaque = Arc<BatchAck>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Self::DeliveryOpaque) {
        ack.record_delivered(
            result
                .as_ref()
                .map(|_| ())
                .map_err(|(error, _)| error.clone()),
        );
    }
}

/// The producer behind an [`AckedSender`](super::AckedSender).
pub type AckedProducer = ThreadedProducer<AckContext>;
