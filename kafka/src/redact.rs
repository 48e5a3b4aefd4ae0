//! Serializers that write secrets as a placeholder: the effective configuration
//! (`graphhook check-config`, the start-up log line) shows that a secret is set,
//! never its value.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::settings::is_secret_client_key;

/// What is written in place of a secret.
pub const PLACEHOLDER: &str = "<secret>";

/// A secret, as [`PLACEHOLDER`].
pub fn secret<S: Serializer, T>(_: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(PLACEHOLDER)
}

/// An optional secret: [`PLACEHOLDER`] when set, nothing when not.
pub fn optional_secret<S: Serializer, T>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => serializer.serialize_str(PLACEHOLDER),
        None => serializer.serialize_none(),
    }
}

/// A list of secrets, as one [`PLACEHOLDER`] each (the count shows).
pub fn secret_list<S: Serializer, T>(values: &[T], serializer: S) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for _ in values {
        seq.serialize_element(PLACEHOLDER)?;
    }
    seq.end()
}

/// A map whose values are secrets: the keys, each with [`PLACEHOLDER`].
pub fn secret_values<S: Serializer, K: Serialize, V>(
    map: &BTreeMap<K, V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut out = serializer.serialize_map(Some(map.len()))?;
    for key in map.keys() {
        out.serialize_entry(key, PLACEHOLDER)?;
    }
    out.end()
}

/// librdkafka properties: values of secret-looking keys as [`PLACEHOLDER`].
pub fn client_properties<S: Serializer>(
    map: &BTreeMap<String, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut out = serializer.serialize_map(Some(map.len()))?;
    for (key, value) in map {
        let shown = if is_secret_client_key(key) {
            PLACEHOLDER
        } else {
            value.as_str()
        };
        out.serialize_entry(key, shown)?;
    }
    out.end()
}
