//! Meta's webhook envelope as it arrives. Values stay borrowed raw JSON so that
//! normalization can keep them verbatim.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::lenient;

/// `{"object": "...", "entry": [...]}`. Entries stay raw so that an entry of unknown
/// shape can be kept whole.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<'a> {
    pub object: String,
    #[serde(borrow)]
    pub entry: Vec<&'a RawValue>,
}

/// One `entry[]` element, in any of the shapes Meta uses.
#[derive(Debug, Deserialize)]
pub(crate) struct Entry<'a> {
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub uid: Option<String>,
    #[serde(default)]
    pub time: Option<serde_json::Value>,
    #[serde(default, borrow)]
    pub changes: Option<Vec<Change<'a>>>,
    #[serde(default, borrow)]
    pub messaging: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow)]
    pub standby: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default, borrow)]
    pub value: Option<&'a RawValue>,
    #[serde(default)]
    pub changed_fields: Option<Vec<String>>,
}

/// `{"field": "...", "value": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Change<'a> {
    pub field: String,
    #[serde(default, borrow)]
    pub value: Option<&'a RawValue>,
}
