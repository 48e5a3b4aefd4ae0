//! Turns a verified delivery body into one [`InboundEvent`] per change or messaging
//! item. Accepts every envelope variant Meta uses: `changes`, `messaging`,
//! `standby`, `field`/`value` directly on the entry, and `changed_fields`. Unknown
//! objects, fields and entry shapes are normalized the same way, never dropped.

use serde_json::value::RawValue;
use serde_json::Value;

use crate::envelope::{Entry, Envelope};
use crate::event_id::{Discriminator, EventIdParts};
use crate::time::json_epoch_to_millis;
use crate::{DeliveryContext, EventId, EventSource, InboundEvent, INBOUND_EVENT_VERSION};

/// Why a delivery body could not be normalized. Carries positions, never content:
/// the body may hold message text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NormalizeError {
    /// The body is not a JSON envelope `{"object", "entry": [...]}`.
    #[error("body is not a Meta webhook envelope ({category} at line {line}, column {column})")]
    NotAnEnvelope {
        /// serde_json's error category (`syntax`, `data`, `eof`, `io`).
        category: &'static str,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
    },
    /// An entry lacks an `id` or has one of the wrong type.
    #[error("entry {index} is not a valid entry ({category} at column {column})")]
    InvalidEntry {
        /// Position of the entry in `entry[]`.
        index: usize,
        /// serde_json's error category.
        category: &'static str,
        /// Column within the entry.
        column: usize,
    },
}

impl NormalizeError {
    /// Every value of [`NormalizeError::reason`].
    pub const REASONS: [&'static str; 2] = ["not_an_envelope", "invalid_entry"];

    /// A short, stable label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            NormalizeError::NotAnEnvelope { .. } => "not_an_envelope",
            NormalizeError::InvalidEntry { .. } => "invalid_entry",
        }
    }
}

/// serde_json's error category as a stable label (`syntax`, `data`, `eof`, `io`):
/// describes a parse failure without echoing the content.
pub fn json_error_category(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "io",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "eof",
    }
}

/// Normalizes a webhook delivery body.
pub fn normalize_delivery(
    ctx: &DeliveryContext<'_>,
    body: &[u8],
) -> Result<Vec<InboundEvent>, NormalizeError> {
    let envelope: Envelope<'_> =
        serde_json::from_slice(body).map_err(|e| NormalizeError::NotAnEnvelope {
            category: json_error_category(&e),
            line: e.line(),
            column: e.column(),
        })?;
    let mut events = Vec::with_capacity(envelope.entry.len());
    for (index, raw_entry) in envelope.entry.iter().enumerate() {
        let entry: Entry<'_> =
            serde_json::from_str(raw_entry.get()).map_err(|e| NormalizeError::InvalidEntry {
                index,
                category: json_error_category(&e),
                column: e.column(),
            })?;
        let builder = EntryEvents {
            ctx,
            object: &envelope.object,
            entry: &entry,
            sent_time_ms: entry.time.as_ref().and_then(json_epoch_to_millis),
        };
        builder.push_all(raw_entry, &mut events);
    }
    Ok(events)
}

/// Builds the events of one entry.
struct EntryEvents<'e, 'a> {
    ctx: &'e DeliveryContext<'e>,
    object: &'e str,
    entry: &'e Entry<'a>,
    sent_time_ms: Option<i64>,
}

impl EntryEvents<'_, '_> {
    fn push_all(&self, raw_entry: &RawValue, out: &mut Vec<InboundEvent>) {
        let before = out.len();
        for change in self.entry.changes.iter().flatten() {
            out.push(self.change(&change.field, change.value, EventSource::Changes));
        }
        if let Some(field) = &self.entry.field {
            out.push(self.change(field, self.entry.value, EventSource::EntryField));
        }
        for item in self.entry.messaging.iter().flatten() {
            out.push(self.messaging(item, EventSource::Messaging));
        }
        for item in self.entry.standby.iter().flatten() {
            out.push(self.messaging(item, EventSource::Standby));
        }
        for field in self.entry.changed_fields.iter().flatten() {
            out.push(self.changed_field(field));
        }
        if out.len() == before && !self.has_empty_known_list() {
            out.push(self.change("entry", Some(raw_entry), EventSource::Entry));
        }
    }

    /// An entry whose known lists are present but empty carries nothing to keep.
    fn has_empty_known_list(&self) -> bool {
        let e = self.entry;
        e.changes.is_some()
            || e.messaging.is_some()
            || e.standby.is_some()
            || e.changed_fields.is_some()
    }

    fn change(&self, field: &str, raw: Option<&RawValue>, source: EventSource) -> InboundEvent {
        let raw = raw.map(|r| r.to_owned()).unwrap_or_else(null_value);
        let parsed: Value = crate::surrogates::from_str(raw.get()).unwrap_or(Value::Null);
        let event_time_ms = ["timestamp", "created_time", "time"]
            .iter()
            .find_map(|key| parsed.get(key).and_then(json_epoch_to_millis));
        let discriminator = if has_identity(&parsed) {
            Discriminator::Value(&parsed)
        } else {
            Discriminator::ValueAt(&parsed, self.sent_time_ms)
        };
        self.event(field, source, discriminator, event_time_ms, raw)
    }

    fn messaging(&self, raw: &RawValue, source: EventSource) -> InboundEvent {
        let parsed: Value = crate::surrogates::from_str(raw.get()).unwrap_or(Value::Null);
        let kind = messaging_kind(&parsed);
        let event_time_ms = parsed.get("timestamp").and_then(json_epoch_to_millis);
        let mid = (kind == "message" || kind == "message_echo")
            .then(|| parsed.pointer("/message/mid").and_then(Value::as_str))
            .flatten();
        let discriminator = match mid {
            Some(mid) => Discriminator::MessageId(mid),
            None => Discriminator::Value(&parsed),
        };
        self.event(kind, source, discriminator, event_time_ms, raw.to_owned())
    }

    fn changed_field(&self, field: &str) -> InboundEvent {
        let discriminator = Discriminator::ValueAt(&Value::Null, self.sent_time_ms);
        self.event(
            field,
            EventSource::ChangedFields,
            discriminator,
            None,
            null_value(),
        )
    }

    fn event(
        &self,
        field: &str,
        source: EventSource,
        discriminator: Discriminator<'_>,
        event_time_ms: Option<i64>,
        value: Box<RawValue>,
    ) -> InboundEvent {
        let event_id = EventId::derive(EventIdParts {
            app_id: self.ctx.app_id,
            object: self.object,
            account_id: &self.entry.id,
            field,
            discriminator,
        });
        InboundEvent {
            version: INBOUND_EVENT_VERSION,
            event_id,
            app: self.ctx.app.to_owned(),
            app_id: self.ctx.app_id.to_owned(),
            object: self.object.to_owned(),
            account_id: self.entry.id.clone(),
            uid: self.entry.uid.clone(),
            field: field.to_owned(),
            source,
            event_time_ms,
            sent_time_ms: self.sent_time_ms,
            received_at_ms: self.ctx.received_at_ms,
            delivery_id: self.ctx.delivery_id.to_owned(),
            value,
        }
    }
}

/// Keys that give a change value an identity or a time of its own.
const IDENTITY_KEYS: [&str; 8] = [
    "id",
    "comment_id",
    "media_id",
    "post_id",
    "mid",
    "timestamp",
    "created_time",
    "time",
];

/// Whether a change value identifies itself (an id, or a time of its own); if not,
/// the same value at another time is another change.
fn has_identity(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|map| IDENTITY_KEYS.iter().any(|key| map.contains_key(*key)))
}

/// Messaging item kinds in the order they are looked for; anything else is taken
/// from the item's first key that is not an envelope key.
const MESSAGING_KINDS: [&str; 12] = [
    "message",
    "reaction",
    "postback",
    "read",
    "delivery",
    "referral",
    "optin",
    "message_edit",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "policy_enforcement",
];

fn messaging_kind(item: &Value) -> &str {
    let Some(map) = item.as_object() else {
        return "unknown";
    };
    if let Some(kind) = MESSAGING_KINDS.iter().find(|k| map.contains_key(**k)) {
        let echo = *kind == "message"
            && item.pointer("/message/is_echo").and_then(Value::as_bool) == Some(true);
        return if echo { "message_echo" } else { kind };
    }
    let mut keys: Vec<&String> = map
        .keys()
        .filter(|k| !matches!(k.as_str(), "sender" | "recipient" | "timestamp"))
        .collect();
    keys.sort_unstable();
    keys.first().map_or("unknown", |k| k.as_str())
}

fn null_value() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}
