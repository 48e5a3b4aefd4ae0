//! The normalized inbound event written to `events.v1`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::EventId;

/// Version of the [`InboundEvent`] layout; bumped on incompatible changes.
pub const INBOUND_EVENT_VERSION: u32 = 1;

/// Where in a delivery an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// `entry[].changes[]`: `{"field", "value"}`.
    Changes,
    /// `entry[].messaging[]`: one messaging item.
    Messaging,
    /// `entry[].standby[]`: a messaging item seen by a secondary receiver (handover).
    Standby,
    /// `field` and `value` directly on the entry.
    EntryField,
    /// `entry[].changed_fields[]`: a field name without its value.
    ChangedFields,
    /// An entry with none of the known shapes: the whole entry is the value.
    Entry,
    /// A deauthorize or data-deletion callback (`signed_request`).
    Callback,
}

/// Facts about the HTTP request that carried a delivery.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryContext<'a> {
    /// The configured app name (route segment).
    pub app: &'a str,
    /// Meta's app id.
    pub app_id: &'a str,
    /// The request id, shared by the delivery record and all its events.
    pub delivery_id: &'a str,
    /// When ingest received the request, epoch milliseconds.
    pub received_at_ms: i64,
}

/// One change or messaging item of a delivery, normalized. The item's value is kept
/// verbatim: the exact bytes Meta sent, escapes included.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InboundEvent {
    /// Layout version, [`INBOUND_EVENT_VERSION`].
    pub version: u32,
    /// Deterministic id derived from the event's content.
    pub event_id: EventId,
    /// Configured app name.
    pub app: String,
    /// Meta's app id.
    pub app_id: String,
    /// The envelope's `object` (`instagram`, `page`, `permissions`, ...), or
    /// `graphhook_callback` for callbacks.
    pub object: String,
    /// `entry.id`: the Instagram account, Page or user the change belongs to; the
    /// user id for callbacks.
    pub account_id: String,
    /// `entry.uid` when Meta sends it (`user` objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The change field (`comments`, `feed`, a permission name, ...) or the
    /// messaging kind (`message`, `reaction`, `read`, ...).
    pub field: String,
    /// Which part of the delivery the event came from.
    pub source: EventSource,
    /// When the change happened, epoch milliseconds, when the item says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time_ms: Option<i64>,
    /// `entry.time`: when Meta sent the notification, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_time_ms: Option<i64>,
    /// When ingest received the delivery, epoch milliseconds.
    pub received_at_ms: i64,
    /// The request id of the delivery that carried this event.
    pub delivery_id: String,
    /// The item's value verbatim; `null` for `changed_fields` events.
    #[schemars(with = "serde_json::Value")]
    pub value: Box<RawValue>,
}

impl InboundEvent {
    /// The best known time of the event: its own time, else when Meta sent it, else
    /// when it was received.
    pub fn effective_time_ms(&self) -> i64 {
        self.event_time_ms
            .or(self.sent_time_ms)
            .unwrap_or(self.received_at_ms)
    }

    /// The item's value read as `T`. A lone UTF-16 surrogate escape (text Meta cut
    /// in the middle of an emoji) is read as U+FFFD instead of failing the whole
    /// value ([`crate::surrogates`]).
    pub fn value_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        crate::surrogates::from_str(self.value.get())
    }

    /// Serializes the event as the `events.v1` record value. serde_json fails only
    /// on non-string map keys and I/O errors, neither of which an event has; the
    /// error is still returned rather than an empty record written.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}
