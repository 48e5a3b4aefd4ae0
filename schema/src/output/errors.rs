//! Errors: `graph-errors.v1` (an input client services write) and `dlq.v1` (what
//! could never be processed).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::OUTPUT_VERSION;

use crate::graph_error::ErrorClass;

/// `graph-errors.v1` (input): a Graph API error a client service received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GraphErrorReport {
    /// Meta's app id.
    pub app_id: String,
    /// The account the call was made for.
    pub account_id: String,
    /// HTTP status; absent for timeouts and connection failures.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Error code.
    #[serde(default)]
    pub code: Option<i64>,
    /// Error subcode.
    #[serde(default)]
    pub subcode: Option<i64>,
    /// Meta's `is_transient`.
    #[serde(default)]
    pub is_transient: Option<bool>,
    /// Error message (not copied to outputs or logs at info).
    #[serde(default)]
    pub message: Option<String>,
    /// Meta's trace id.
    #[serde(default)]
    pub fbtrace_id: Option<String>,
    /// When the error happened, epoch milliseconds.
    pub time_ms: i64,
}

/// `dlq.v1`: a record that can never be processed, with the error and the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeadLetterRecord {
    /// [`OUTPUT_VERSION`].
    pub version: u32,
    /// This record's deterministic id: the same effect keeps it when written again.
    /// Drop repeats by it.
    #[serde(default)]
    pub record_id: String,
    /// The failed record's identity: its event id when it was an event, otherwise a
    /// hash of its topic, key and value. The same record failing again has it too.
    #[serde(default)]
    pub source_event_id: String,
    /// Where the record came from.
    pub source_topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Why it failed (no payload content).
    pub error: String,
    /// The error class, when the failure was a classified Graph API error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    /// When it was dead-lettered, epoch milliseconds.
    pub failed_at_ms: i64,
    /// The original key, as text (lossy for non-UTF-8 keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_key: Option<String>,
    /// The original value, base64 (standard alphabet, padded).
    pub original_value_base64: String,
    /// The original headers (values as text, lossy for non-UTF-8).
    pub original_headers: BTreeMap<String, String>,
}
