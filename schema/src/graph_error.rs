//! Graph API errors and what to do about them (meta-platform.md sections 7 and 9):
//! the one classifier, used for the errors client services report on
//! `graph-errors.v1` and for the calls graphhook makes itself.

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

/// What is known about a failed call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status; absent for timeouts and connection failures.
    pub http_status: Option<u16>,
    /// Error code.
    pub code: Option<i64>,
    /// Error subcode.
    pub subcode: Option<i64>,
    /// Meta's `is_transient`.
    pub is_transient: Option<bool>,
    /// Whether the call changes something at Meta (publishing, creating a
    /// container): a lost answer then leaves its outcome unknown.
    pub mutation: bool,
}

impl Failure {
    /// What to do about it.
    pub fn class(&self) -> ErrorClass {
        let answer_lost = self.http_status.is_none_or(|status| status >= 500);
        if self.mutation && answer_lost && self.code.is_none() {
            return ErrorClass::UnknownOutcome;
        }
        classify(self.http_status, self.code, self.subcode, self.is_transient)
    }
}

/// Classifies an error from its HTTP status (absent for timeouts and connection
/// failures), code, subcode and `is_transient` flag, for a read (see
/// [`Failure::class`] for mutations). Specific (code, subcode) pairs win over
/// codes; codes win over the transient flag and the HTTP status.
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
        Some(429) => ErrorClass::Wait,
        Some(status) if status >= 500 => ErrorClass::RetryLater,
        Some(_) => ErrorClass::FixRequest,
    }
}

fn classify_pair(code: i64, subcode: i64) -> Option<ErrorClass> {
    Some(match (code, subcode) {
        (9007, 2_207_027) => ErrorClass::NotReady,
        (25, 2_207_050) => ErrorClass::Reconnect,
        (-1, 2_207_001) | (-2, 2_207_003) | (-1, 2_207_032) => ErrorClass::RetryLater,
        (4, 2_207_051) => ErrorClass::Wait,
        // The daily publishing quota: wait until the rolling window frees a slot.
        (9, 2_207_042) => ErrorClass::Wait,
        (352, 2_207_026) | (9004, 2_207_052) => ErrorClass::FixRequest,
        (100, 2_207_000..=2_207_999) => ErrorClass::FixRequest,
        _ => return None,
    })
}

fn classify_code(code: i64) -> Option<ErrorClass> {
    Some(match code {
        190 | 102 | 10 | 200..=299 | 492 => ErrorClass::Reconnect,
        1 | 2 | 341 => ErrorClass::RetryLater,
        4 | 17 | 32 | 613 | 80_001..=80_009 => ErrorClass::Wait,
        100 | 352 | 9004 | 36_000..=36_004 => ErrorClass::FixRequest,
        9007 => ErrorClass::NotReady,
        _ => return None,
    })
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
    use ErrorClass::*;

    fn class(code: i64, subcode: Option<i64>) -> ErrorClass {
        classify(Some(400), Some(code), subcode, None)
    }

    #[test]
    fn transient_codes_retry_later() {
        for code in [1, 2, 341] {
            assert_eq!(class(code, None), RetryLater, "code {code}");
        }
        assert_eq!(class(-1, Some(2_207_001)), RetryLater);
        assert_eq!(class(-2, Some(2_207_003)), RetryLater);
        assert_eq!(class(-1, Some(2_207_032)), RetryLater);
    }

    #[test]
    fn throttling_means_wait() {
        for code in [4, 17, 32, 613, 80_001, 80_002, 80_004, 80_009] {
            assert_eq!(class(code, None), Wait, "code {code}");
        }
        assert_eq!(class(4, Some(2_207_051)), Wait);
        assert_eq!(class(9, Some(2_207_042)), Wait, "publishing quota");
        assert_eq!(classify(Some(429), None, None, None), Wait);
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
        ] {
            assert_eq!(class(code, subcode), FixRequest, "{code}/{subcode:?}");
        }
        for code in 36_000..=36_004 {
            assert_eq!(class(code, None), FixRequest);
        }
    }

    #[test]
    fn media_not_ready_means_not_ready() {
        assert_eq!(class(9007, Some(2_207_027)), NotReady);
        assert_eq!(class(9007, None), NotReady);
    }

    #[test]
    fn a_mutation_whose_answer_was_lost_has_an_unknown_outcome() {
        let lost = Failure {
            http_status: None,
            mutation: true,
            ..Failure::default()
        };
        assert_eq!(lost.class(), UnknownOutcome);
        let server_error = Failure {
            http_status: Some(502),
            mutation: true,
            ..Failure::default()
        };
        assert_eq!(server_error.class(), UnknownOutcome);
        let read = Failure {
            mutation: false,
            ..lost
        };
        assert_eq!(read.class(), RetryLater, "a read that timed out is retried");
        let throttled = Failure {
            http_status: Some(400),
            code: Some(4),
            mutation: true,
            ..Failure::default()
        };
        assert_eq!(throttled.class(), Wait, "a coded answer is an answer");
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
    }

    #[test]
    fn a_known_code_wins_over_the_transient_flag() {
        assert_eq!(
            classify(Some(400), Some(190), Some(463), Some(true)),
            Reconnect
        );
    }

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
        assert_eq!(
            classify(Some(400), e.code, e.error_subcode, e.is_transient),
            Reconnect
        );
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
