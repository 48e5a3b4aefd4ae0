//! Deauthorize and data-deletion callbacks: `signed_request=<sig>.<payload>` form
//! bodies. This module splits and decodes them; checking the signature needs the app
//! secret and happens in ingest.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::Sha256;

use crate::event_id::{Discriminator, EventIdParts};
use crate::time::json_epoch_to_millis;
use crate::{DeliveryContext, EventId, EventSource, InboundEvent, INBOUND_EVENT_VERSION};

/// The `object` of callback events.
pub const CALLBACK_OBJECT: &str = "graphhook_callback";

/// Which callback Meta called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackKind {
    /// The user removed the app.
    Deauthorize,
    /// The user asked for their data to be deleted.
    DataDeletion,
}

impl CallbackKind {
    /// The event `field` and endpoint label: `deauthorize` or `data_deletion`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackKind::Deauthorize => "deauthorize",
            CallbackKind::DataDeletion => "data_deletion",
        }
    }
}

/// Why a `signed_request` body could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignedRequestError {
    /// No `signed_request` form field.
    #[error("the form has no signed_request field")]
    Missing,
    /// Not `<sig>.<payload>`, or a part is not base64url.
    #[error("signed_request is not <signature>.<payload> in base64url")]
    Malformed,
    /// The payload is not a JSON object with the expected fields.
    #[error("signed_request payload is not valid JSON: {0}")]
    InvalidPayload(&'static str),
    /// Neither `user_id` nor `profile_id` names whom the callback is about.
    #[error("signed_request payload names no user_id or profile_id")]
    NoSubject,
}

/// A `signed_request` split into its parts; the signature is not checked yet.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The decoded signature (HMAC-SHA256, 32 bytes when genuine).
    pub signature: Vec<u8>,
    /// The still-encoded payload text: what the signature covers.
    pub encoded_payload: String,
    /// The decoded payload JSON text, verbatim.
    pub payload_json: Box<RawValue>,
    /// The payload's fields graphhook uses.
    pub payload: SignedRequestPayload,
}

/// The fields of a decoded `signed_request` payload that graphhook reads.
#[derive(Debug, Clone, Deserialize)]
pub struct SignedRequestPayload {
    /// Must be `HMAC-SHA256` (any case).
    pub algorithm: String,
    /// When Meta issued the request, epoch seconds.
    #[serde(default)]
    pub issued_at: Option<serde_json::Value>,
    /// The app-scoped user id; `"0"` for Page-level uninstalls.
    #[serde(default, deserialize_with = "crate::lenient::optional_string")]
    pub user_id: Option<String>,
    /// The Page, for Page-level uninstalls.
    #[serde(default, deserialize_with = "crate::lenient::optional_string")]
    pub profile_id: Option<String>,
}

impl SignedRequestPayload {
    /// Whom the callback is about: the user id, or the Page for Page-level uninstalls.
    pub fn subject(&self) -> Option<&str> {
        let usable = |id: &&String| !id.is_empty() && id.as_str() != "0";
        self.user_id
            .iter()
            .find(usable)
            .or(self.profile_id.iter().find(usable))
            .map(String::as_str)
    }

    /// Whether `algorithm` is HMAC-SHA256, compared case-insensitively.
    pub fn algorithm_is_hmac_sha256(&self) -> bool {
        self.algorithm.eq_ignore_ascii_case("HMAC-SHA256")
    }
}

impl SignedRequest {
    /// Reads `signed_request` from an `application/x-www-form-urlencoded` body.
    pub fn from_form(body: &[u8]) -> Result<Self, SignedRequestError> {
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| SignedRequestError::Malformed)?;
        let value = fields
            .into_iter()
            .find(|(k, _)| k == "signed_request")
            .map(|(_, v)| v)
            .ok_or(SignedRequestError::Missing)?;
        Self::parse(value.trim())
    }

    /// Splits and decodes `<sig>.<payload>`.
    pub fn parse(text: &str) -> Result<Self, SignedRequestError> {
        let (sig, payload) = text.split_once('.').ok_or(SignedRequestError::Malformed)?;
        let signature = decode_base64url(sig)?;
        let decoded = decode_base64url(payload)?;
        let json = String::from_utf8(decoded)
            .map_err(|_| SignedRequestError::InvalidPayload("not UTF-8"))?;
        let payload_json = RawValue::from_string(json)
            .map_err(|_| SignedRequestError::InvalidPayload("not JSON"))?;
        let fields: SignedRequestPayload = serde_json::from_str(payload_json.get())
            .map_err(|_| SignedRequestError::InvalidPayload("missing or mistyped fields"))?;
        Ok(SignedRequest {
            signature,
            encoded_payload: payload.to_owned(),
            payload_json,
            payload: fields,
        })
    }
}

/// Meta sends base64url without padding; tolerate padding too.
fn decode_base64url(text: &str) -> Result<Vec<u8>, SignedRequestError> {
    if text.is_empty() {
        return Err(SignedRequestError::Malformed);
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(|_| SignedRequestError::Malformed)
}

/// The confirmation code of a data-deletion request: an HMAC keyed with `key` (a
/// secret of the app) over the app id, the user id and the request time, so the
/// same request retried by Meta gets the same code, and nobody who knows a user's
/// app-scoped id can derive it. 20 alphanumeric characters.
pub fn confirmation_code(
    key: &[u8],
    app_id: &str,
    subject: &str,
    issued_at: Option<i64>,
) -> String {
    // HMAC accepts keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    for part in [
        "graphhook.data-deletion.v2",
        app_id,
        subject,
        &issued_at.unwrap_or(0).to_string(),
    ] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    hex::encode(&mac.finalize().into_bytes()[..10])
}

/// What a data-deletion answer tells the user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeletionReceipt {
    /// Where the user can check the status.
    pub url: String,
    /// The deterministic code of the request.
    pub confirmation_code: String,
}

#[derive(Serialize)]
struct CallbackValue<'a> {
    signed_request: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_deletion: Option<&'a DeletionReceipt>,
}

/// Builds the `events.v1` event of a verified callback: object `graphhook_callback`,
/// field `deauthorize` or `data_deletion`, account id the user (or Page) id. The value
/// holds the decoded payload verbatim and, for data deletion, the receipt.
pub fn callback_event(
    ctx: &DeliveryContext<'_>,
    kind: CallbackKind,
    request: &SignedRequest,
    receipt: Option<&DeletionReceipt>,
) -> Result<InboundEvent, SignedRequestError> {
    let subject = request
        .payload
        .subject()
        .ok_or(SignedRequestError::NoSubject)?;
    let parsed: serde_json::Value = serde_json::from_str(request.payload_json.get())
        .map_err(|_| SignedRequestError::InvalidPayload("not JSON"))?;
    let event_id = EventId::derive(EventIdParts {
        app_id: ctx.app_id,
        object: CALLBACK_OBJECT,
        account_id: subject,
        field: kind.as_str(),
        discriminator: Discriminator::Value(&parsed),
    });
    let value = serde_json::value::to_raw_value(&CallbackValue {
        signed_request: &request.payload_json,
        data_deletion: receipt,
    })
    .map_err(|_| SignedRequestError::InvalidPayload("not serializable"))?;
    Ok(InboundEvent {
        version: INBOUND_EVENT_VERSION,
        event_id,
        app: ctx.app.to_owned(),
        app_id: ctx.app_id.to_owned(),
        object: CALLBACK_OBJECT.to_owned(),
        account_id: subject.to_owned(),
        uid: None,
        field: kind.as_str().to_owned(),
        source: EventSource::Callback,
        event_time_ms: request
            .payload
            .issued_at
            .as_ref()
            .and_then(json_epoch_to_millis),
        sent_time_ms: None,
        received_at_ms: ctx.received_at_ms,
        delivery_id: ctx.delivery_id.to_owned(),
        value,
    })
}

/// `issued_at` as integer seconds, when present.
pub fn issued_at_seconds(payload: &SignedRequestPayload) -> Option<i64> {
    payload
        .issued_at
        .as_ref()
        .and_then(serde_json::Value::as_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmation_codes_are_stable_for_retries_and_need_the_key() {
        let code = confirmation_code(b"app-secret", "1", "218471", Some(1_291_836_800));
        assert_eq!(code.len(), 20);
        assert!(code.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            code,
            confirmation_code(b"app-secret", "1", "218471", Some(1_291_836_800)),
            "Meta's retry gets the same code"
        );
        assert_ne!(
            code,
            confirmation_code(b"another-secret", "1", "218471", Some(1_291_836_800)),
            "without the secret, walking user ids and times finds nothing"
        );
        assert_ne!(
            code,
            confirmation_code(b"app-secret", "1", "218471", Some(1_291_836_801))
        );
    }
}
