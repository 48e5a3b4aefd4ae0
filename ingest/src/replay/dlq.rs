//! Re-drives dead-lettered records into the topic they came from, with their
//! original key, value and headers. A record that still cannot be processed is
//! dead-lettered again, with the new error.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use graphhook_kafka::KafkaSettings;
use graphhook_schema::output::DeadLetterRecord;
use graphhook_schema::topics::DLQ;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::Message;

use super::reader::TimeRange;
use super::{redrive, ReplayError, ReplayReport};

/// Reads `dlq.v1` in `range` and writes each original record back to its topic.
pub async fn replay_dead_letters(
    kafka: &KafkaSettings,
    bootstrap: &str,
    range: TimeRange,
) -> Result<ReplayReport, ReplayError> {
    redrive(kafka, bootstrap, DLQ, range, |message, sender, report| {
        let Some(dead) = message
            .payload()
            .and_then(|p| serde_json::from_slice::<DeadLetterRecord>(p).ok())
        else {
            report.skip("not a dead-letter record");
            return;
        };
        let Ok(value) = STANDARD.decode(&dead.original_value_base64) else {
            report.skip("original value not base64");
            return;
        };
        let mut headers = OwnedHeaders::new_with_capacity(dead.original_headers.len());
        for (key, value) in &dead.original_headers {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            });
        }
        let key = dead.original_key.unwrap_or_default();
        sender.send(&dead.source_topic, key, value, headers);
        report.wrote(&dead.source_topic);
    })
    .await
}
