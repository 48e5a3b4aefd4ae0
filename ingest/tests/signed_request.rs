//! Deauthorize and data-deletion `signed_request` verification.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use graphhook_ingest::signature::Verifier;
use graphhook_ingest::signed_request::{sign_signed_request, verify_signed_request, CallbackError};
use graphhook_schema::SignedRequestError;
use secrecy::SecretString;

const SECRET: &str = "app-secret";
const PAYLOAD: &str =
    r#"{"algorithm":"HMAC-SHA256","expires":1291840400,"issued_at":1291836800,"user_id":"218471"}"#;

fn verifier() -> Verifier {
    Verifier::new(
        &[SecretString::from("other"), SecretString::from(SECRET)],
        false,
    )
}

fn form(signed_request: &str) -> Vec<u8> {
    format!("signed_request={signed_request}").into_bytes()
}

#[test]
fn a_valid_signed_request_is_accepted_with_any_secret() {
    let request = verify_signed_request(
        &verifier(),
        &form(&sign_signed_request(SECRET.as_bytes(), PAYLOAD)),
    )
    .unwrap();
    assert_eq!(request.payload.subject(), Some("218471"));
    assert_eq!(request.payload_json.get(), PAYLOAD);
}

#[test]
fn a_tampered_payload_is_a_mismatch() {
    let signed = sign_signed_request(SECRET.as_bytes(), PAYLOAD);
    let (sig, _) = signed.split_once('.').unwrap();
    let forged = URL_SAFE_NO_PAD.encode(PAYLOAD.replace("218471", "999999"));
    let err = verify_signed_request(&verifier(), &form(&format!("{sig}.{forged}"))).unwrap_err();
    assert!(matches!(err, CallbackError::Mismatch));
}

#[test]
fn another_algorithm_is_refused_even_when_signed() {
    let payload = PAYLOAD.replace("HMAC-SHA256", "HMAC-SHA1");
    let err = verify_signed_request(
        &verifier(),
        &form(&sign_signed_request(SECRET.as_bytes(), &payload)),
    )
    .unwrap_err();
    assert!(matches!(err, CallbackError::Algorithm));
}

#[test]
fn the_algorithm_is_compared_case_insensitively() {
    let payload = PAYLOAD.replace("HMAC-SHA256", "hmac-sha256");
    assert!(verify_signed_request(
        &verifier(),
        &form(&sign_signed_request(SECRET.as_bytes(), &payload))
    )
    .is_ok());
}

#[test]
fn padded_base64_is_tolerated() {
    let signed = sign_signed_request(SECRET.as_bytes(), PAYLOAD);
    let (sig, payload) = signed.split_once('.').unwrap();
    let padded_sig = format!("{sig}=");
    // The signature covers the payload as sent; only the signature part gets padding here.
    assert!(verify_signed_request(&verifier(), &form(&format!("{padded_sig}.{payload}"))).is_ok());
}

#[test]
fn garbage_is_malformed_not_a_signature_failure() {
    for body in [
        "signed_request=garbage",
        "signed_request=a.b",
        "signed_request=%%%",
        "other=1",
        "",
    ] {
        let err = verify_signed_request(&verifier(), body.as_bytes()).unwrap_err();
        assert!(
            matches!(err, CallbackError::Malformed(_)),
            "{body}: {err:?}"
        );
    }
    let err = verify_signed_request(&verifier(), b"other=1").unwrap_err();
    assert!(matches!(
        err,
        CallbackError::Malformed(SignedRequestError::Missing)
    ));
}

#[test]
fn page_uninstall_uses_the_profile_id() {
    let payload =
        r#"{"algorithm":"HMAC-SHA256","issued_at":1291836800,"user_id":"0","profile_id":"5551"}"#;
    let request = verify_signed_request(
        &verifier(),
        &form(&sign_signed_request(SECRET.as_bytes(), payload)),
    )
    .unwrap();
    assert_eq!(request.payload.subject(), Some("5551"));
}
