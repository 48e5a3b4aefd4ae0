//! What a consumed record is: an inbound event, a Graph error report, or something
//! that cannot be read (dead-lettered with the reason).

use graphhook_kafka::Topics;
use graphhook_schema::normalize::json_error_category;
use graphhook_schema::output::GraphErrorReport;
use graphhook_schema::publishing::PublishRequest;
use graphhook_schema::topics::{GRAPH_ERRORS, PUBLISH_REQUESTS};
use graphhook_schema::InboundEvent;
use rdkafka::message::OwnedMessage;
use rdkafka::Message;
use sha2::{Digest, Sha256};

/// A consumed record, read.
#[derive(Debug)]
pub enum Consumed {
    /// An `events.v1` record.
    Event(InboundEvent),
    /// A `graph-errors.v1` report.
    GraphError(GraphErrorReport),
    /// A `publish-requests.v1` request.
    PublishRequest(Box<PublishRequest>),
    /// Not what its topic carries; the reason names the problem, not the content.
    Unreadable(String),
}

/// Reads `message` by its topic.
pub fn read(message: &OwnedMessage, topics: &Topics) -> Consumed {
    if message.topic() == topics.name(GRAPH_ERRORS) {
        return match parse(message, "a graph error report") {
            Ok(report) => Consumed::GraphError(report),
            Err(reason) => Consumed::Unreadable(reason),
        };
    }
    if message.topic() == topics.name(PUBLISH_REQUESTS) {
        return match parse(message, "a publish request") {
            Ok(request) => Consumed::PublishRequest(Box::new(request)),
            Err(reason) => Consumed::Unreadable(reason),
        };
    }
    match parse(message, "an inbound event") {
        Ok(event) => Consumed::Event(event),
        Err(reason) => Consumed::Unreadable(reason),
    }
}

fn parse<T: serde::de::DeserializeOwned>(message: &OwnedMessage, what: &str) -> Result<T, String> {
    let payload = message
        .payload()
        .ok_or_else(|| "record has no value".to_owned())?;
    serde_json::from_slice(payload).map_err(|e| {
        format!(
            "not {what}: {} at line {}, column {}",
            json_error_category(&e),
            e.line(),
            e.column()
        )
    })
}

/// The identity of a record by its content (topic, key and value): the same record
/// read again, at another offset or by another consumer group, has the same id.
pub fn content_id(message: &OwnedMessage) -> String {
    let mut hasher = Sha256::new();
    for part in [
        message.topic().as_bytes(),
        message.key().unwrap_or_default(),
        message.payload().unwrap_or_default(),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    format!("record:{}", hex::encode(&hasher.finalize()[..16]))
}
