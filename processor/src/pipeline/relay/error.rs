//! Why relaying failed, with the cause chain kept for logs.

use graphhook_kafka::SendError;

use crate::store::StoreError;

/// Why relaying failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RelayError {
    /// Reading, claiming or deleting outbox rows failed.
    #[error("the outbox could not be read or updated: {0}")]
    Database(String),
    /// Kafka did not acknowledge output records.
    #[error("Kafka did not acknowledge output records: {0}")]
    Kafka(String),
    /// The relay has stopped.
    #[error("the relay has stopped")]
    Stopped,
}

impl RelayError {
    /// The failing component, for readiness and the retries metric.
    pub fn cause(&self) -> &'static str {
        match self {
            RelayError::Database(_) => "database",
            RelayError::Kafka(_) | RelayError::Stopped => "kafka",
        }
    }
}

impl From<StoreError> for RelayError {
    fn from(error: StoreError) -> Self {
        RelayError::Database(error_chain(&error))
    }
}

impl From<SendError> for RelayError {
    fn from(error: SendError) -> Self {
        RelayError::Kafka(error_chain(&error))
    }
}

pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
