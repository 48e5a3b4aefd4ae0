//! Delivery signatures: HMAC over the raw bytes Meta sent, every secret tried, the
//! legacy SHA-1 header only when opted in.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use graphhook_ingest::signature::{
    sign_sha1, sign_sha256, SignatureAlgorithm, SignatureError, Verifier,
};
use secrecy::SecretString;

const SECRET: &str = "app-secret";
/// What Meta sends: non-ASCII escaped as \u00e4, slashes as \/.
const META_BODY: &str = r#"{"object":"instagram","entry":[{"id":"1","time":1700000000,"changes":[{"field":"comments","value":{"text":"Gr\u00fc\u00dfe \ud83d\ude00 https:\/\/example.com\/p"}}]}]}"#;

fn verifier(secrets: &[&str], allow_sha1: bool) -> Verifier {
    let secrets: Vec<SecretString> = secrets
        .iter()
        .map(|s| SecretString::from(s.to_string()))
        .collect();
    Verifier::new(&secrets, allow_sha1)
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn verify(
    v: &Verifier,
    pairs: &[(&str, &str)],
    body: &str,
) -> Result<SignatureAlgorithm, SignatureError> {
    v.verify(&headers(pairs), body.as_bytes())
}

#[test]
fn escaped_unicode_and_slashes_signed_over_literal_bytes_are_accepted() {
    let sig = sign_sha256(SECRET.as_bytes(), META_BODY.as_bytes());
    let result = verify(
        &verifier(&[SECRET], false),
        &[("X-Hub-Signature-256", &sig)],
        META_BODY,
    );
    assert_eq!(result, Ok(SignatureAlgorithm::Sha256));
}

#[test]
fn the_same_json_reserialized_is_rejected() {
    let sig = sign_sha256(SECRET.as_bytes(), META_BODY.as_bytes());
    let value: serde_json::Value = serde_json::from_str(META_BODY).unwrap();
    let reserialized = serde_json::to_string(&value).unwrap();
    assert_ne!(reserialized, META_BODY, "re-serializing unescapes the text");
    let result = verify(
        &verifier(&[SECRET], false),
        &[("X-Hub-Signature-256", &sig)],
        &reserialized,
    );
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn a_wrong_secret_is_a_mismatch() {
    let sig = sign_sha256(b"another-secret", META_BODY.as_bytes());
    let result = verify(
        &verifier(&[SECRET], false),
        &[("X-Hub-Signature-256", &sig)],
        META_BODY,
    );
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn truncated_or_non_hex_signatures_are_malformed() {
    let sig = sign_sha256(SECRET.as_bytes(), META_BODY.as_bytes());
    let v = verifier(&[SECRET], false);
    for bad in [
        &sig[..sig.len() - 1],
        &sig[..20],
        "sha256=",
        "sha256",
        &sig.replace('a', "g"),
        &format!("{sig}00"),
    ] {
        assert_eq!(
            verify(&v, &[("X-Hub-Signature-256", bad)], META_BODY),
            Err(SignatureError::Malformed),
            "{bad}"
        );
    }
}

#[test]
fn prefix_and_hex_case_do_not_matter_but_the_algorithm_name_does() {
    let sig = sign_sha256(SECRET.as_bytes(), META_BODY.as_bytes());
    let hex = &sig["sha256=".len()..];
    let v = verifier(&[SECRET], false);
    for variant in [
        format!("SHA256={hex}"),
        format!("Sha256={hex}"),
        format!("sha256={}", hex.to_uppercase()),
    ] {
        assert_eq!(
            verify(&v, &[("X-Hub-Signature-256", &variant)], META_BODY),
            Ok(SignatureAlgorithm::Sha256),
            "{variant}"
        );
    }
    for wrong in [
        format!("sha-256={hex}"),
        format!("sha512={hex}"),
        format!("sha256:{hex}"),
        format!("sha256 ={hex}"),
    ] {
        assert_eq!(
            verify(&v, &[("X-Hub-Signature-256", &wrong)], META_BODY),
            Err(SignatureError::Malformed),
            "{wrong}"
        );
    }
}

#[test]
fn an_empty_or_absent_header_is_refused() {
    let v = verifier(&[SECRET], false);
    assert_eq!(
        verify(&v, &[("X-Hub-Signature-256", "")], META_BODY),
        Err(SignatureError::Malformed)
    );
    assert_eq!(verify(&v, &[], META_BODY), Err(SignatureError::Missing));
}

#[test]
fn two_signature_headers_are_refused_even_if_one_matches() {
    let good = sign_sha256(SECRET.as_bytes(), META_BODY.as_bytes());
    let bad = sign_sha256(b"x", META_BODY.as_bytes());
    let v = verifier(&[SECRET], false);
    let result = verify(
        &v,
        &[
            ("X-Hub-Signature-256", &good),
            ("X-Hub-Signature-256", &bad),
        ],
        META_BODY,
    );
    assert_eq!(result, Err(SignatureError::Multiple));
}

#[test]
fn every_configured_secret_is_accepted_for_rotation() {
    let v = verifier(&["old-secret", "new-secret"], false);
    for secret in ["old-secret", "new-secret"] {
        let sig = sign_sha256(secret.as_bytes(), META_BODY.as_bytes());
        assert_eq!(
            verify(&v, &[("X-Hub-Signature-256", &sig)], META_BODY),
            Ok(SignatureAlgorithm::Sha256)
        );
    }
}

#[test]
fn sha1_is_refused_unless_opted_in() {
    let sha1 = sign_sha1(SECRET.as_bytes(), META_BODY.as_bytes());
    let pairs = [("X-Hub-Signature", sha1.as_str())];
    assert_eq!(
        verify(&verifier(&[SECRET], false), &pairs, META_BODY),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify(&verifier(&[SECRET], true), &pairs, META_BODY),
        Ok(SignatureAlgorithm::Sha1)
    );
    let wrong = sign_sha1(b"x", META_BODY.as_bytes());
    assert_eq!(
        verify(
            &verifier(&[SECRET], true),
            &[("X-Hub-Signature", &wrong)],
            META_BODY
        ),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_bad_sha256_header_is_not_rescued_by_a_good_sha1_header() {
    let sha1 = sign_sha1(SECRET.as_bytes(), META_BODY.as_bytes());
    let bad256 = sign_sha256(b"x", META_BODY.as_bytes());
    let v = verifier(&[SECRET], true);
    let result = verify(
        &v,
        &[("X-Hub-Signature-256", &bad256), ("X-Hub-Signature", &sha1)],
        META_BODY,
    );
    assert_eq!(result, Err(SignatureError::Mismatch));
}
