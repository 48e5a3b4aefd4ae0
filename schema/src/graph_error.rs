//! Graph API errors as types: the classes reported on `graph-errors.v1` and the
//! error body Meta answers with (meta-platform.md section 7). Which answer gets
//! which class is decided in one table, `graphhook_graph::answer`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What to do about a Graph API error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Transient failures, 5xx, timeouts of reads: retry later, with backoff.
    RetryLater,
    /// Throttling (4, 17, 32, 613, 80001-80009, HTTP 429): stop calling for the app
    /// or account until the regain time has passed; calls made while throttled
    /// extend the throttle.
    Wait,
    /// Token or permission problems: the user must act; flag the account, stop
    /// calling for it.
    Reconnect,
    /// Bad input: an engineering problem; do not retry as is.
    FixRequest,
    /// Media not ready yet (9007 / 2207027): wait, then publish.
    NotReady,
    /// A mutation whose answer was lost (timeout, connection lost, 5xx): read the
    /// state before acting again.
    UnknownOutcome,
}

impl ErrorClass {
    /// A stable label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::RetryLater => "retry_later",
            ErrorClass::Wait => "wait",
            ErrorClass::Reconnect => "reconnect",
            ErrorClass::FixRequest => "fix_request",
            ErrorClass::NotReady => "not_ready",
            ErrorClass::UnknownOutcome => "unknown_outcome",
        }
    }

    /// Every class, in a fixed order (metrics are created for each at start).
    pub const ALL: [ErrorClass; 6] = [
        ErrorClass::RetryLater,
        ErrorClass::Wait,
        ErrorClass::Reconnect,
        ErrorClass::FixRequest,
        ErrorClass::NotReady,
        ErrorClass::UnknownOutcome,
    ];
}

/// The `error` object of a Graph API error body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphApiError {
    /// Human-readable message (may contain user data; do not log at info).
    #[serde(default)]
    pub message: Option<String>,
    /// Error type, e.g. `OAuthException`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Error code.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub code: Option<i64>,
    /// Error subcode.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub error_subcode: Option<i64>,
    /// Meta's trace id, for support requests.
    #[serde(default)]
    pub fbtrace_id: Option<String>,
    /// Whether Meta says retrying may succeed.
    #[serde(default)]
    pub is_transient: Option<bool>,
    /// A title meant for the end user.
    #[serde(default)]
    pub error_user_title: Option<String>,
    /// A message meant for the end user.
    #[serde(default)]
    pub error_user_msg: Option<String>,
}

/// Codes and subcodes arrive as numbers, and in some samples as numeric strings.
fn lenient_i64<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(i64),
        Text(String),
    }
    Ok(match Option::<Repr>::deserialize(deserializer)? {
        Some(Repr::Number(n)) => Some(n),
        Some(Repr::Text(text)) => text.trim().parse().ok(),
        None => None,
    })
}

/// `{"error": {...}}`, the body of a failed Graph API call.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphApiErrorBody {
    /// The error.
    pub error: GraphApiError,
}

/// The Instagram error subcode in a container's `status` text
/// (`Error: Media upload has failed with error code 2207026`), if any.
pub fn subcode_in_text(text: &str) -> Option<i64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|digits| digits.len() == 7 && digits.starts_with("22"))
        .find_map(|digits| digits.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_error_bodies_parse_with_every_field() {
        let body = r#"{"error":{"message":"Error validating access token: Session has expired on Tuesday","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC","error_user_title":"t","error_user_msg":"m","is_transient":false}}"#;
        let parsed: GraphApiErrorBody = serde_json::from_str(body).unwrap();
        let e = parsed.error;
        assert_eq!((e.code, e.error_subcode), (Some(190), Some(463)));
        assert_eq!(e.kind.as_deref(), Some("OAuthException"));
        assert_eq!(e.error_user_title.as_deref(), Some("t"));
        assert_eq!(e.is_transient, Some(false));
        let text_codes: GraphApiErrorBody =
            serde_json::from_str(r#"{"error":{"code":"9007","error_subcode":"2207027"}}"#).unwrap();
        assert_eq!(text_codes.error.code, Some(9007));
        assert_eq!(text_codes.error.error_subcode, Some(2_207_027));
    }

    #[test]
    fn the_subcode_is_read_from_container_status_text() {
        assert_eq!(
            subcode_in_text("Error: Media upload has failed with error code 2207026"),
            Some(2_207_026)
        );
        assert_eq!(subcode_in_text("ERROR"), None);
        assert_eq!(subcode_in_text("Error: failed (code 12345678)"), None);
    }
}
