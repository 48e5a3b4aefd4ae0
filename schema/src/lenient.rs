//! Text that may arrive as a JSON number: Meta's ids in older deliveries and samples,
//! and settings that environment variables deliver as integers.

use serde::{Deserialize, Deserializer};

/// A string, or an integer taken as its decimal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LenientString(pub String);

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Text(String),
    Unsigned(u64),
    Signed(i64),
}

impl<'de> Deserialize<'de> for LenientString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(LenientString(match Repr::deserialize(deserializer)? {
            Repr::Text(s) => s,
            Repr::Unsigned(n) => n.to_string(),
            Repr::Signed(n) => n.to_string(),
        }))
    }
}

impl From<LenientString> for String {
    fn from(value: LenientString) -> String {
        value.0
    }
}

/// `deserialize_with` for a `String` field that may arrive as a number.
pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    LenientString::deserialize(deserializer).map(String::from)
}

/// `deserialize_with` for an `Option<String>` field that may arrive as a number.
pub fn optional_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<LenientString>::deserialize(deserializer)?.map(String::from))
}
