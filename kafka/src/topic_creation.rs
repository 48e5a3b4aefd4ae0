//! Creating topics on a configured cluster at start-up. A broker that does not
//! answer in time (busy, electing a controller, or holding a connection it never
//! serves) is asked again on a new connection until the time allowed runs out;
//! what the broker refuses (a bad replication factor or configuration) fails at
//! once with its reason.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use tokio::time::Instant;

use crate::bus::{admin_client, BusError};
use crate::KafkaSettings;

/// The longest one attempt waits for the broker.
const ATTEMPT: Duration = Duration::from_secs(5);
/// The pause before asking again.
const PAUSE: Duration = Duration::from_millis(500);

/// An attempt that did not create everything.
enum Failure {
    /// The broker did not answer, or answered "not now": these topics are still
    /// to be created.
    Retry { topics: Vec<String>, reason: String },
    /// The broker refused: asking again would get the same answer.
    Refused(BusError),
}

/// Creates `topics` (existing ones are left as they are), asking again while
/// the broker does not answer, for at most `timeout` in all.
pub(crate) async fn create_topics(
    settings: &KafkaSettings,
    brokers: &str,
    topics: &[String],
    timeout: Duration,
) -> Result<(), BusError> {
    let deadline = Instant::now() + timeout;
    let mut missing = topics.to_vec();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = left.min(ATTEMPT).max(Duration::from_millis(100));
        let (topics, reason) = match attempt(settings, brokers, &missing, wait).await {
            Ok(()) => return Ok(()),
            Err(Failure::Refused(error)) => return Err(error),
            Err(Failure::Retry { topics, reason }) => (topics, reason),
        };
        if Instant::now() + PAUSE >= deadline {
            return Err(BusError::CreateTopic {
                topic: topics.join(","),
                brokers: brokers.to_owned(),
                reason: format!("{reason} ({attempts} attempts in {timeout:?})"),
            });
        }
        tracing::warn!(topics = %topics.join(","), %brokers, %reason, attempt = attempts, "the broker did not create the topics yet; asking again");
        missing = topics;
        tokio::time::sleep(PAUSE).await;
    }
}

/// One request, on a client (and so a connection) of its own.
async fn attempt(
    settings: &KafkaSettings,
    brokers: &str,
    topics: &[String],
    wait: Duration,
) -> Result<(), Failure> {
    let admin = admin_client(settings, brokers).map_err(Failure::Refused)?;
    let max_message_bytes = settings.max_message_bytes.to_string();
    let min_insync = settings.min_insync_replicas.to_string();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| {
            let topic = NewTopic::new(
                t,
                settings.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
            .set("max.message.bytes", &max_message_bytes);
            if settings.replication_factor == -1 {
                topic
            } else {
                topic.set("min.insync.replicas", &min_insync)
            }
        })
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(wait))
        .request_timeout(Some(wait));
    let results = match admin.create_topics(&new_topics, &options).await {
        Ok(results) => results,
        Err(error) => {
            let unanswered = matches!(&error, KafkaError::AdminOp(code) if not_now(*code));
            let reason = error.to_string();
            return Err(if unanswered {
                Failure::Retry {
                    topics: topics.to_vec(),
                    reason,
                }
            } else {
                Failure::Refused(BusError::CreateTopic {
                    topic: topics.join(","),
                    brokers: brokers.to_owned(),
                    reason,
                })
            });
        }
    };
    let mut later = Vec::new();
    let mut reason = String::new();
    for result in results {
        match result {
            Ok(topic) => tracing::info!(%topic, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) if not_now(code) => {
                reason = code.to_string();
                later.push(topic);
            }
            Err((topic, code)) => {
                return Err(Failure::Refused(BusError::CreateTopic {
                    topic,
                    brokers: brokers.to_owned(),
                    reason: format!("{code}{}", hint(settings, code)),
                }))
            }
        }
    }
    if later.is_empty() {
        Ok(())
    } else {
        Err(Failure::Retry {
            topics: later,
            reason,
        })
    }
}

/// Answers that mean "not now": no answer in time, no connection, or a cluster
/// that is electing its controller or leaders.
fn not_now(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::NetworkException
            | RDKafkaErrorCode::NotController
            | RDKafkaErrorCode::LeaderNotAvailable
            | RDKafkaErrorCode::BrokerNotAvailable
    )
}

/// Which setting a refusal points at.
fn hint(settings: &KafkaSettings, code: RDKafkaErrorCode) -> String {
    match code {
        RDKafkaErrorCode::InvalidReplicationFactor => format!(
            " (kafka.replication_factor = {}: more than the cluster's brokers? a single broker needs 1)",
            settings.replication_factor
        ),
        RDKafkaErrorCode::InvalidConfig => {
            " (see kafka.min_insync_replicas and kafka.max_message_bytes)".to_owned()
        }
        _ => String::new(),
    }
}
