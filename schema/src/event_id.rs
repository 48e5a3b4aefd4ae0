//! Deterministic event ids. Meta sends no delivery id and may redeliver a change in
//! a different batch, so identity comes from content: app id, object, account id,
//! field, and a discriminator (the value's canonical JSON, or a message id).
//!
//! A value that carries neither an id nor a time of its own (a `permissions` change
//! is `{"verb", "target_ids"}`) cannot tell a later identical change from a retry, so
//! its entry time is hashed too: losing a real change would be worse than handling a
//! retry twice, which the state machines ignore.
//!
//! The value is hashed in canonical form (object keys sorted, no whitespace, escapes
//! decoded), so the same change gets the same id even if a retry were serialized with
//! different key order, whitespace or escaping.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A 128-bit content hash, as 32 lowercase hex characters.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct EventId(String);

/// What distinguishes one event from another with the same app, object, account and field.
#[derive(Debug, Clone, Copy)]
pub enum Discriminator<'a> {
    /// The item's value (canonicalized before hashing).
    Value(&'a Value),
    /// A value with no id or time of its own (a `permissions` change, or no value at
    /// all for `changed_fields`): the same value sent at another time is another
    /// change, so the entry time counts too.
    ValueAt(&'a Value, Option<i64>),
    /// A messaging item's message id (`message.mid`).
    MessageId(&'a str),
}

/// The parts an event id is derived from.
#[derive(Debug, Clone, Copy)]
pub struct EventIdParts<'a> {
    /// Meta's app id.
    pub app_id: &'a str,
    /// Envelope object.
    pub object: &'a str,
    /// Entry id.
    pub account_id: &'a str,
    /// Field or messaging kind.
    pub field: &'a str,
    /// What tells events with the above in common apart.
    pub discriminator: Discriminator<'a>,
}

impl EventId {
    /// Derives the id of an event.
    pub fn derive(parts: EventIdParts<'_>) -> Self {
        let mut hasher = Sha256::new();
        for part in [
            "graphhook.event.v1",
            parts.app_id,
            parts.object,
            parts.account_id,
            parts.field,
        ] {
            write_framed(&mut hasher, part.as_bytes());
        }
        match parts.discriminator {
            Discriminator::Value(value) => {
                let mut canonical = Vec::with_capacity(128);
                write_canonical(value, &mut canonical);
                write_framed(&mut hasher, b"value");
                write_framed(&mut hasher, &canonical);
            }
            Discriminator::ValueAt(value, time) => {
                let mut canonical = Vec::with_capacity(128);
                write_canonical(value, &mut canonical);
                write_framed(&mut hasher, b"value_at");
                write_framed(&mut hasher, &canonical);
                write_framed(&mut hasher, time.unwrap_or(0).to_string().as_bytes());
            }
            Discriminator::MessageId(mid) => {
                write_framed(&mut hasher, b"mid");
                write_framed(&mut hasher, mid.as_bytes());
            }
        }
        let digest = hasher.finalize();
        EventId(hex::encode(&digest[..16]))
    }

    /// Wraps an id read from a record. Accepts only 32 lowercase hex characters.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| EventId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn write_framed(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

/// Writes `value` as canonical JSON: keys sorted, no whitespace. Independent of
/// serde_json's map ordering features.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Scalars (strings, numbers, booleans, null) always serialize.
    if let Ok(bytes) = serde_json::to_vec(value) {
        out.extend_from_slice(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id_of(value: &Value) -> EventId {
        EventId::derive(EventIdParts {
            app_id: "1",
            object: "instagram",
            account_id: "17841400000000000",
            field: "comments",
            discriminator: Discriminator::Value(value),
        })
    }

    #[test]
    fn key_order_and_whitespace_do_not_change_the_id() {
        let a: Value =
            serde_json::from_str(r#"{"id":"1","text":"hi","media":{"id":"2"}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{ "media": {"id": "2"}, "text": "hi", "id": "1" }"#).unwrap();
        assert_eq!(id_of(&a), id_of(&b));
    }

    #[test]
    fn escaped_and_literal_text_give_the_same_id() {
        let escaped: Value = serde_json::from_str(r#"{"text":"\u00e4 http:\/\/x"}"#).unwrap();
        let literal: Value = serde_json::from_str(r#"{"text":"ä http://x"}"#).unwrap();
        assert_eq!(id_of(&escaped), id_of(&literal));
    }

    #[test]
    fn different_values_give_different_ids() {
        assert_ne!(id_of(&json!({"id": "1"})), id_of(&json!({"id": "2"})));
    }

    #[test]
    fn parts_are_framed_so_they_cannot_run_together() {
        let a = EventId::derive(EventIdParts {
            app_id: "12",
            object: "3",
            account_id: "a",
            field: "f",
            discriminator: Discriminator::MessageId("m"),
        });
        let b = EventId::derive(EventIdParts {
            app_id: "1",
            object: "23",
            account_id: "a",
            field: "f",
            discriminator: Discriminator::MessageId("m"),
        });
        assert_ne!(a, b);
    }

    #[test]
    fn ids_are_32_hex_and_parse_back() {
        let id = id_of(&json!({}));
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(EventId::parse(id.as_str()), Some(id));
        assert_eq!(EventId::parse("XYZ"), None);
    }
}
