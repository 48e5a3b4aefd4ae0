//! Why records were not acknowledged, and which of Kafka's refusals are for good
//! or break the producer.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Why a call's records were not all acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Not every record was acknowledged before the deadline.
    #[error("Kafka did not acknowledge within {0:?}")]
    Deadline(Duration),
    /// librdkafka's queue stayed full until the deadline.
    #[error("the producer queue stayed full")]
    QueueFull,
    /// Kafka refused a record. `permanent` when sending it again cannot succeed
    /// (too large, invalid, not authorized).
    #[error("Kafka refused a record ({})", if *permanent { "permanent" } else { "transient" })]
    Refused {
        /// The cause.
        #[source]
        error: KafkaError,
        /// Whether retrying is pointless.
        permanent: bool,
    },
    /// The producer failed fatally; it has been replaced for the next call.
    #[error("the producer failed fatally ({0}); a new producer was created")]
    Fatal(String),
    /// The producer dropped the call without an answer (shutting down).
    #[error("the producer dropped the request")]
    Canceled,
}

impl SendError {
    /// Every value of [`SendError::reason`] (metrics start with each at 0).
    pub const REASONS: [&'static str; 6] = [
        "deadline",
        "queue_full",
        "refused",
        "refused_permanent",
        "fatal",
        "canceled",
    ];

    /// A stable label for metrics: `deadline`, `queue_full`, `refused`,
    /// `refused_permanent`, `fatal` or `canceled`.
    pub fn reason(&self) -> &'static str {
        match self {
            SendError::Deadline(_) => "deadline",
            SendError::QueueFull => "queue_full",
            SendError::Refused {
                permanent: false, ..
            } => "refused",
            SendError::Refused {
                permanent: true, ..
            } => "refused_permanent",
            SendError::Fatal(_) => "fatal",
            SendError::Canceled => "canceled",
        }
    }

    /// Whether sending the same records again cannot succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SendError::Refused {
                permanent: true,
                ..
            }
        )
    }
}

/// Whether Kafka refusing a record with `error` means it will always refuse it.
pub fn is_permanent(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(
            MessageSizeTooLarge
                | MessageBatchTooLarge
                | InvalidMessage
                | InvalidMessageSize
                | InvalidRecord
                | InvalidTopic
                | TopicAuthorizationFailed
                | ClusterAuthorizationFailed
                | UnsupportedCompressionType
        )
    )
}

/// Whether a record refused with `error` shows that the producer itself is broken
/// (its idempotence state was fenced or lost): it will refuse everything until it
/// is replaced, even when librdkafka has not declared it fatally failed.
pub fn breaks_producer(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(
            Fatal
                | Fenced
                | ProducerFenced
                | InvalidProducerEpoch
                | UnknownProducerId
                | OutOfOrderSequenceNumber
                | InvalidProducerIdMapping
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_or_lost_idempotence_breaks_the_producer() {
        for code in [
            RDKafkaErrorCode::ProducerFenced,
            RDKafkaErrorCode::OutOfOrderSequenceNumber,
            RDKafkaErrorCode::Fatal,
        ] {
            assert!(
                breaks_producer(&KafkaError::MessageProduction(code)),
                "{code:?}"
            );
        }
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(!breaks_producer(&timed_out));
    }

    #[test]
    fn size_and_authorization_refusals_are_permanent_timeouts_are_not() {
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert!(is_permanent(&too_large));
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(!is_permanent(&timed_out));
        let error = SendError::Refused {
            permanent: true,
            error: too_large,
        };
        assert_eq!(error.reason(), "refused_permanent");
        assert!(error.is_permanent());
        assert!(!SendError::Deadline(Duration::from_secs(1)).is_permanent());
    }
}
