//! Graph API errors and what they mean for an account (meta-platform.md section 7).
//! Client services report the errors they get; the processor flags accounts whose
//! errors need a reconnect and counts the rest by class.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What to do about a Graph API error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Throttling, transient failures, 5xx, timeouts: retry later, with backoff.
    RetryLater,
    /// Token or permission problems: the user must act; flag the account, stop retrying.
    Reconnect,
    /// Bad input: an engineering problem; do not retry as is.
    FixRequest,
    /// Media not ready yet: wait and poll again.
    Wait,
}

impl ErrorClass {
    /// A stable label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::RetryLater => "retry_later",
            ErrorClass::Reconnect => "reconnect",
            ErrorClass::FixRequest => "fix_request",
            ErrorClass::Wait => "wait",
        }
    }
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
    #[serde(default)]
    pub code: Option<i64>,
    /// Error subcode.
    #[serde(default)]
    pub error_subcode: Option<i64>,
    /// Meta's trace id, for support requests.
    #[serde(default)]
    pub fbtrace_id: Option<String>,
    /// Whether Meta says retrying may succeed.
    #[serde(default)]
    pub is_transient: Option<bool>,
}

/// `{"error": {...}}`, the body of a failed Graph API call.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphApiErrorBody {
    /// The error.
    pub error: GraphApiError,
}

/// Classifies an error from its HTTP status (absent for timeouts and connection
/// failures), code, subcode and `is_transient` flag. Specific (code, subcode) pairs
/// win over codes; codes win over the transient flag and the HTTP status.
pub fn classify(
    http_status: Option<u16>,
    code: Option<i64>,
    subcode: Option<i64>,
    is_transient: Option<bool>,
) -> ErrorClass {
    if let (Some(code), Some(subcode)) = (code, subcode) {
        if let Some(class) = classify_pair(code, subcode) {
            return class;
        }
    }
    if let Some(class) = code.and_then(classify_code) {
        return class;
    }
    if is_transient == Some(true) {
        return ErrorClass::RetryLater;
    }
    match http_status {
        None => ErrorClass::RetryLater,
        Some(status) if status >= 500 || status == 429 => ErrorClass::RetryLater,
        Some(_) => ErrorClass::FixRequest,
    }
}

fn classify_pair(code: i64, subcode: i64) -> Option<ErrorClass> {
    Some(match (code, subcode) {
        (9007, 2_207_027) => ErrorClass::Wait,
        (25, 2_207_050) => ErrorClass::Reconnect,
        (-1, 2_207_001) | (-2, 2_207_003) | (-1, 2_207_032) => ErrorClass::RetryLater,
        (352, 2_207_026) | (9004, 2_207_052) | (9, 2_207_042) => ErrorClass::FixRequest,
        (100, 2_207_000..=2_207_999) => ErrorClass::FixRequest,
        _ => return None,
    })
}

fn classify_code(code: i64) -> Option<ErrorClass> {
    Some(match code {
        190 | 102 | 10 | 200..=299 | 492 => ErrorClass::Reconnect,
        1 | 2 | 4 | 17 | 32 | 341 | 613 | 80_001..=80_009 => ErrorClass::RetryLater,
        100 | 352 | 9004 | 36_000..=36_004 => ErrorClass::FixRequest,
        9007 => ErrorClass::Wait,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorClass::*;

    fn class(code: i64, subcode: Option<i64>) -> ErrorClass {
        classify(Some(400), Some(code), subcode, None)
    }

    #[test]
    fn throttling_and_transient_codes_retry_later() {
        for code in [1, 2, 4, 17, 32, 341, 613, 80_001, 80_004, 80_009] {
            assert_eq!(class(code, None), RetryLater, "code {code}");
        }
        assert_eq!(class(-1, Some(2_207_001)), RetryLater);
        assert_eq!(class(-2, Some(2_207_003)), RetryLater);
        assert_eq!(class(-1, Some(2_207_032)), RetryLater);
    }

    #[test]
    fn token_and_permission_problems_need_a_reconnect() {
        for subcode in [458, 459, 460, 463, 464, 467] {
            assert_eq!(class(190, Some(subcode)), Reconnect, "190/{subcode}");
        }
        for code in [190, 102, 10, 200, 250, 299, 492] {
            assert_eq!(class(code, None), Reconnect, "code {code}");
        }
        assert_eq!(class(25, Some(2_207_050)), Reconnect);
    }

    #[test]
    fn bad_input_needs_a_fix() {
        for (code, subcode) in [
            (100, Some(2_207_023)),
            (100, Some(2_207_028)),
            (100, None),
            (352, Some(2_207_026)),
            (9004, Some(2_207_052)),
            (9, Some(2_207_042)),
        ] {
            assert_eq!(class(code, subcode), FixRequest, "{code}/{subcode:?}");
        }
        for code in 36_000..=36_004 {
            assert_eq!(class(code, None), FixRequest);
        }
    }

    #[test]
    fn media_not_ready_means_wait() {
        assert_eq!(class(9007, Some(2_207_027)), Wait);
        assert_eq!(class(9007, None), Wait);
    }

    #[test]
    fn without_a_known_code_status_and_transience_decide() {
        assert_eq!(classify(Some(500), None, None, None), RetryLater);
        assert_eq!(classify(Some(503), Some(123_456), None, None), RetryLater);
        assert_eq!(
            classify(None, None, None, None),
            RetryLater,
            "timeouts retry"
        );
        assert_eq!(
            classify(Some(400), Some(123_456), None, Some(true)),
            RetryLater
        );
        assert_eq!(classify(Some(400), Some(123_456), None, None), FixRequest);
        assert_eq!(classify(Some(429), None, None, None), RetryLater);
    }

    #[test]
    fn a_known_code_wins_over_the_transient_flag() {
        assert_eq!(
            classify(Some(400), Some(190), Some(463), Some(true)),
            Reconnect
        );
    }

    #[test]
    fn error_bodies_parse() {
        let body = r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC","error_user_title":"t"}}"#;
        let parsed: GraphApiErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(parsed.error.code, Some(190));
        assert_eq!(parsed.error.error_subcode, Some(463));
        assert_eq!(parsed.error.kind.as_deref(), Some("OAuthException"));
        let e = parsed.error;
        assert_eq!(
            classify(Some(400), e.code, e.error_subcode, e.is_transient),
            Reconnect
        );
    }
}
