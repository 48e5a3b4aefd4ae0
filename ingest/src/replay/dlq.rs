//! Re-drives dead-lettered records into the topic they came from, with their
//! original key, value and headers. A record that still cannot be processed is
//! dead-lettered again, with the new error.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use graphhook_kafka::{base_config, producer_config, KafkaSettings, Topics};
use graphhook_schema::output::DeadLetterRecord;
use graphhook_schema::topics::DLQ;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureProducer;
use rdkafka::Message;

use super::reader::{read_range, TimeRange};
use super::sender::Sender;
use super::{ReplayError, ReplayReport};

/// Reads `dlq.v1` in `range` and writes each original record back to its topic.
pub async fn replay_dead_letters(
    kafka: &KafkaSettings,
    bootstrap: &str,
    range: TimeRange,
) -> Result<ReplayReport, ReplayError> {
    let topics = Topics::new(&kafka.topic_prefix);
    let producer: FutureProducer = producer_config(kafka, bootstrap)
        .create()
        .map_err(ReplayError::Kafka)?;
    let mut sender = Sender::new(&producer);
    let (mut records, reading) = read_range(base_config(kafka, bootstrap), topics.name(DLQ), range);
    let mut report = ReplayReport::default();
    while let Some(message) = records.recv().await {
        report.read += 1;
        let Some(dead) = message
            .payload()
            .and_then(|p| serde_json::from_slice::<DeadLetterRecord>(p).ok())
        else {
            report.skip("not a dead-letter record");
            continue;
        };
        let Ok(value) = STANDARD.decode(&dead.original_value_base64) else {
            report.skip("original value not base64");
            continue;
        };
        let mut headers = OwnedHeaders::new_with_capacity(dead.original_headers.len());
        for (key, value) in &dead.original_headers {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            });
        }
        let key = dead.original_key.as_deref().unwrap_or_default();
        sender.send(&dead.source_topic, key, &value, headers)?;
        report.wrote(&dead.source_topic);
        sender.settle_some().await?;
    }
    sender.settle_all().await?;
    reading.await.map_err(|_| ReplayError::ReaderFailed)??;
    Ok(report)
}
