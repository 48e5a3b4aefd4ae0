//! Verification of the `signed_request` that deauthorize and data-deletion callbacks
//! carry: HMAC-SHA256 of the still-encoded payload, with any configured secret, and
//! the payload's `algorithm` must be HMAC-SHA256.

use graphhook_schema::{SignedRequest, SignedRequestError};

use crate::signature::Verifier;

/// Why a callback was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// The form or the signed request could not be read (400).
    #[error(transparent)]
    Malformed(#[from] SignedRequestError),
    /// The signature does not match any secret (401).
    #[error("the signed_request signature does not match")]
    Mismatch,
    /// The payload names another algorithm (401).
    #[error("the signed_request algorithm is not HMAC-SHA256")]
    Algorithm,
}

impl CallbackError {
    /// A stable label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            CallbackError::Malformed(_) => "malformed",
            CallbackError::Mismatch => "mismatch",
            CallbackError::Algorithm => "algorithm",
        }
    }
}

/// Reads and verifies the `signed_request` of a callback's form body.
pub fn verify_signed_request(
    verifier: &Verifier,
    form_body: &[u8],
) -> Result<SignedRequest, CallbackError> {
    let request = SignedRequest::from_form(form_body)?;
    if !verifier.matches_sha256(request.encoded_payload.as_bytes(), &request.signature) {
        return Err(CallbackError::Mismatch);
    }
    if !request.payload.algorithm_is_hmac_sha256() {
        return Err(CallbackError::Algorithm);
    }
    Ok(request)
}

/// Builds a `signed_request` the way Meta does: base64url (no padding) of the
/// HMAC-SHA256 of the encoded payload, a dot, the encoded payload (for tests and tools
/// that play Meta's side).
pub fn sign_signed_request(secret: &[u8], payload_json: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let encoded = URL_SAFE_NO_PAD.encode(payload_json);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(encoded.as_bytes());
    format!(
        "{}.{encoded}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}
