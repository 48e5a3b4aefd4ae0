//! The Kafka records ingest writes: the delivery byte-for-byte, and its events.

use graphhook_schema::topics::headers;
use graphhook_schema::{DeliveryContext, InboundEvent};
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::Message;

/// A record ready to send.
#[derive(Debug)]
pub struct OutgoingRecord {
    /// Which of ingest's topics it goes to.
    pub topic: TopicKind,
    /// The record key.
    pub key: String,
    /// The record value.
    pub payload: Vec<u8>,
    /// The record headers.
    pub headers: OwnedHeaders,
}

/// Ingest's topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    /// `deliveries.v1`.
    Deliveries,
    /// `events.v1`.
    Events,
}

/// Which endpoint received a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /webhooks/{app}`.
    Webhook,
    /// `POST /callbacks/{app}/deauthorize`.
    Deauthorize,
    /// `POST /callbacks/{app}/data-deletion`.
    DataDeletion,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 3] = [
        Endpoint::Webhook,
        Endpoint::Deauthorize,
        Endpoint::DataDeletion,
    ];

    /// Header value and metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Webhook => "webhook",
            Endpoint::Deauthorize => "deauthorize",
            Endpoint::DataDeletion => "data_deletion",
        }
    }
}

fn with(headers: OwnedHeaders, key: &str, value: &str) -> OwnedHeaders {
    headers.insert(Header {
        key,
        value: Some(value.as_bytes()),
    })
}

/// The `deliveries.v1` record: the body byte-for-byte, keyed by app id.
pub fn delivery_record(
    ctx: &DeliveryContext<'_>,
    endpoint: Endpoint,
    parsed: bool,
    content_type: &str,
    body: &[u8],
) -> OutgoingRecord {
    let mut h = OwnedHeaders::new_with_capacity(7);
    h = with(h, headers::REQUEST_ID, ctx.delivery_id);
    h = with(h, headers::APP, ctx.app);
    h = with(h, headers::APP_ID, ctx.app_id);
    h = with(h, headers::RECEIVED_AT, &ctx.received_at_ms.to_string());
    h = with(h, headers::ENDPOINT, endpoint.as_str());
    h = with(h, headers::PARSE, if parsed { "ok" } else { "failed" });
    h = with(h, headers::CONTENT_TYPE, content_type);
    OutgoingRecord {
        topic: TopicKind::Deliveries,
        key: ctx.app_id.to_owned(),
        payload: body.to_vec(),
        headers: h,
    }
}

/// The `events.v1` record of one event, keyed by account id.
pub fn event_record(event: &InboundEvent) -> Result<OutgoingRecord, serde_json::Error> {
    let mut h = OwnedHeaders::new_with_capacity(6);
    h = with(h, headers::EVENT_ID, event.event_id.as_str());
    h = with(h, headers::OBJECT, &event.object);
    h = with(h, headers::FIELD, &event.field);
    h = with(h, headers::REQUEST_ID, &event.delivery_id);
    h = with(h, headers::APP, &event.app);
    h = with(h, headers::APP_ID, &event.app_id);
    Ok(OutgoingRecord {
        topic: TopicKind::Events,
        key: event.account_id.clone(),
        payload: event.to_json()?,
        headers: h,
    })
}

/// All records of one delivery: the delivery itself, then one per event. When an
/// event cannot be serialized (it cannot happen with serde_json, but is not
/// assumed), the delivery alone is kept, marked `graphhook-parse: failed`, so
/// nothing is lost and it can be replayed.
pub fn for_delivery(
    ctx: &DeliveryContext<'_>,
    endpoint: Endpoint,
    parsed: bool,
    content_type: &str,
    body: &[u8],
    events: &[InboundEvent],
) -> Vec<OutgoingRecord> {
    let mut records = Vec::with_capacity(events.len() + 1);
    match events
        .iter()
        .map(event_record)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(event_records) => {
            records.push(delivery_record(ctx, endpoint, parsed, content_type, body));
            records.extend(event_records);
        }
        Err(error) => {
            tracing::warn!(%error, "an event cannot be serialized; keeping the delivery only");
            records.push(delivery_record(ctx, endpoint, false, content_type, body));
        }
    }
    records
}

/// The text value of header `name` of a record read back from Kafka.
pub fn header_value<'m>(message: &'m OwnedMessage, name: &str) -> Option<&'m str> {
    message
        .headers()?
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}
