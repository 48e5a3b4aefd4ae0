//! Request paths and queries are input from outside: one with a control character
//! (a NUL among them, `/data-deletion/%00`) names nothing graphhook has, and
//! PostgreSQL refuses to even compare such text. Both servers refuse it with a
//! `400` problem before routing, so no handler and no database sees it.

use std::borrow::Cow;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;

use crate::Problem;

/// `text` with its `%XX` escapes decoded (invalid escapes kept as they are).
fn percent_decoded(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&decoded).into_owned())
}

/// Whether the decoded path or query holds a control character.
pub fn has_control_characters(path: &str, query: &str) -> bool {
    [path, query]
        .iter()
        .any(|part| percent_decoded(part).chars().any(char::is_control))
}

/// Middleware: answers `400` (a problem naming what is wrong, not the value) to
/// a request whose path or query holds a control character.
pub async fn refuse_control_characters(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if has_control_characters(request.path(), request.query_string()) {
        let problem = Problem::new(
            StatusCode::BAD_REQUEST,
            "urn:graphhook:problem:bad-request",
            "Bad request",
            "The path or query contains a control character.".to_owned(),
        );
        return Ok(request
            .into_response(problem.response())
            .map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_and_raw_control_characters_are_found_and_ordinary_text_is_not() {
        for (path, query) in [
            ("/data-deletion/%00", ""),
            ("/v1/apps/1/accounts", "after=%00"),
            ("/v1/apps/1/accounts/%0a", ""),
            ("/v1/apps/1/accounts/%C2%85", ""),
            ("/v1/apps/1/accounts/a\u{7}b", ""),
        ] {
            assert!(has_control_characters(path, query), "{path}?{query}");
        }
        for (path, query) in [
            ("/data-deletion/abc_DEF-1", ""),
            ("/v1/apps/1/accounts", "state=active&after=17841400000"),
            ("/webhooks/main", "hub.challenge=1%20"),
            ("/x/%zz/%4", "a=%"),
            ("/caf%C3%A9", ""),
        ] {
            assert!(!has_control_characters(path, query), "{path}?{query}");
        }
    }
}
