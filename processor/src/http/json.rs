//! Request bodies and queries are read here, and when they do not fit, the
//! problem names the field and what was expected, never the value sent: serde's
//! own messages quote it (`unknown variant `EAAB...``), and a token sent in the
//! wrong field would otherwise come back in the answer and go into the logs.

use actix_web::dev::Payload;
use actix_web::error::{PayloadError, QueryPayloadError};
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::problems::ApiError;
use super::ProcessorState;

/// Kinds of serde messages that quote the input before `, expected`.
const QUOTING: [&str; 4] = [
    "invalid type",
    "invalid value",
    "unknown variant",
    "unknown field",
];

/// serde's message without what the client sent: the kind of mismatch and what
/// was expected.
pub fn without_input(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    for kind in QUOTING {
        if message.starts_with(kind) {
            return match message.split_once(", expected ") {
                Some((_, expected)) => format!("{kind}, expected {expected}"),
                None => kind.to_owned(),
            };
        }
    }
    if message.starts_with("missing field")
        || message.starts_with("duplicate field")
        || message.starts_with("invalid length")
        || !message.contains(['`', '"', '\''])
    {
        return message.to_owned();
    }
    "invalid value".to_owned()
}

/// A JSON body, read within `processor.max_body_bytes`.
pub struct JsonBody<T>(pub T);

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> JsonBody<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Parses `bytes` as `T`, naming the field that does not fit.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest(format!(
                "the body is not JSON (line {}, column {})",
                inner.line(),
                inner.column()
            ));
        }
        let message = inner.to_string();
        let what = without_input(&message);
        // An unknown field's path ends with the name the client sent.
        let unknown = message.starts_with("unknown field");
        match field_path(error.path(), unknown) {
            None => ApiError::BadRequest(what),
            Some(field) => ApiError::BadRequest(format!("{field}: {what}")),
        }
    })
}

/// The path of the field that did not fit, in graphhook's names only: a map key
/// the client chose (an `options` key, an unknown field) is written `<key>`.
fn field_path(path: &serde_path_to_error::Path, drop_last: bool) -> Option<String> {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let kept = if drop_last {
        &segments[..segments.len().saturating_sub(1)]
    } else {
        &segments[..]
    };
    let ours = |key: &str| {
        (1..=64).contains(&key.len())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let mut out = String::new();
    for segment in kept {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if ours(key) { key } else { "<key>" });
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    (!out.is_empty()).then_some(out)
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<ProcessorState>>()
            .map_or(64 * 1024, |state| state.max_body_bytes);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body
                .await
                .map_err(|error| match error.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(limit),
                    _ => ApiError::BadRequest("the body could not be read".to_owned()),
                })?;
            parse(&bytes).map(JsonBody)
        })
    }
}

/// The answer to a query string that does not fit.
pub fn query_error(error: QueryPayloadError) -> ApiError {
    match error {
        QueryPayloadError::Deserialize(error) => {
            ApiError::BadRequest(format!("query: {}", without_input(&error.to_string())))
        }
        _ => ApiError::BadRequest("query: cannot be read".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::registration::TokenRegistration;

    #[test]
    fn a_token_in_the_wrong_field_is_never_answered() {
        let body = br#"{"token": "IGAA-secret", "kind": "EAAB-leaked-token"}"#;
        let Err(ApiError::BadRequest(detail)) = parse::<TokenRegistration>(body) else {
            panic!("refused");
        };
        assert!(!detail.contains("EAAB"), "{detail}");
        assert!(
            detail.starts_with("kind: unknown variant, expected"),
            "{detail}"
        );
        for (body, field) in [
            (r#"{"token": "t", "kind": "page", "tenant": 5}"#, "tenant"),
            (
                r#"{"token": "t", "kind": "page", "EAAB-field": 1}"#,
                "unknown field",
            ),
            (r#"{"kind": "page"}"#, "missing field `token`"),
        ] {
            let Err(ApiError::BadRequest(detail)) = parse::<TokenRegistration>(body.as_bytes())
            else {
                panic!("{body} refused");
            };
            assert!(detail.contains(field), "{detail}");
            assert!(!detail.contains("EAAB"), "{detail}");
        }
        let Err(ApiError::BadRequest(detail)) = parse::<TokenRegistration>(b"{\"token\": \"EAAB")
        else {
            panic!("refused");
        };
        assert!(
            detail.contains("not JSON") && !detail.contains("EAAB"),
            "{detail}"
        );
    }
}
