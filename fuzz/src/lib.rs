//! graphhook's fuzz targets, one function each, so that a finding can be replayed
//! as a plain test. Each target checks what must hold for any input, not only that
//! nothing panics:
//!
//! - `signature`: a delivery is accepted only with the exact HMAC of its bytes
//!   (case of the prefix and the hex aside), under the configured secret;
//! - `signed_request`: a callback body is accepted only when its signature is the
//!   HMAC-SHA256 of its encoded payload and the payload names HMAC-SHA256;
//! - `envelope`: every event of a normalized delivery serializes, reads back as the
//!   processor reads it, has a stable id, and has a value the processor can read;
//! - `publish_request`: a request that validates survives its own JSON round trip
//!   and validates again;
//! - `graph_answer`: any status, usage headers and body give an answer or a
//!   failure with an action, and a 2xx is never a failure.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use graphhook_graph::{interpret, Call, Host, Usage};
use graphhook_ingest::signature::{sign_sha256, Verifier};
use graphhook_ingest::signed_request::verify_signed_request;
use graphhook_schema::event::{DeliveryContext, InboundEvent};
use graphhook_schema::normalize::normalize_delivery;
use graphhook_schema::publishing::PublishRequest;
use secrecy::SecretString;

/// The app secret every target signs with.
pub const SECRET: &str = "fuzz-app-secret";

fn verifier(allow_sha1: bool) -> Verifier {
    Verifier::new(&[SecretString::from(SECRET)], allow_sha1)
}

/// `data` is `[mode, header bytes.., 0x00, body..]`. With mode bit 0 the header is
/// replaced by the body's true signature with one byte changed (position and
/// value from the header bytes), so the fuzzer explores near misses as well as
/// arbitrary headers; bit 1 allows the legacy SHA-1 header, bit 2 sends the
/// header twice.
pub fn signature(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let (mut header, body) = (rest[..split].to_vec(), rest.get(split + 1..).unwrap_or(&[]));
    let truth = sign_sha256(SECRET.as_bytes(), body);
    if mode & 1 == 1 {
        let mut near = truth.clone().into_bytes();
        if let [at, value, ..] = header[..] {
            let at = usize::from(at) % near.len();
            near[at] = value;
        }
        header = near;
    }
    let Ok(value) = HeaderValue::from_bytes(&header) else {
        return;
    };
    let mut headers = HeaderMap::new();
    let name = HeaderName::from_static("x-hub-signature-256");
    headers.append(name.clone(), value.clone());
    if mode & 4 == 4 {
        headers.append(name, value);
    }
    let verdict = verifier(mode & 2 == 2).verify(&headers, body);
    if verdict.is_ok() {
        assert!(mode & 4 == 0, "a doubled signature header was accepted");
        let claimed = String::from_utf8_lossy(&header).trim().to_ascii_lowercase();
        assert_eq!(claimed, truth, "accepted a signature that is not the body's");
    }
}

/// `data` is a callback's form body (`signed_request=<sig>.<payload>`).
pub fn signed_request(data: &[u8]) {
    let Ok(request) = verify_signed_request(&verifier(false), data) else {
        return;
    };
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(request.encoded_payload.as_bytes());
    let truth = mac.finalize().into_bytes();
    assert_eq!(
        request.signature.as_slice(),
        truth.as_slice(),
        "accepted a signed_request whose signature is not its payload's"
    );
    assert!(request.payload.algorithm_is_hmac_sha256());
    let _ = URL_SAFE_NO_PAD.decode(&request.encoded_payload);
}

/// `data` is a delivery body, as ingest receives it after the signature.
pub fn envelope(data: &[u8]) {
    let ctx = DeliveryContext {
        app: "fuzz",
        app_id: "1",
        delivery_id: "d",
        received_at_ms: 1_700_000_000_000,
    };
    let Ok(events) = normalize_delivery(&ctx, data) else {
        return;
    };
    let again = normalize_delivery(&ctx, data).expect("the same body normalizes again");
    assert_eq!(events.len(), again.len());
    for (event, twin) in events.iter().zip(&again) {
        assert_eq!(event.event_id, twin.event_id, "event ids are not stable");
        let record = event.to_json().expect("an event serializes");
        let read: InboundEvent =
            serde_json::from_slice(&record).expect("the processor reads the record back");
        assert_eq!(read.event_id, event.event_id);
        assert_eq!(read.account_id, event.account_id);
        assert_eq!(read.received_at_ms, ctx.received_at_ms);
        // What the processor reads: every value, lone surrogate escapes included,
        // except a number beyond f64 (valid JSON): the processor dead-letters an
        // engagement whose value it cannot read (found by this target).
        if let Err(error) = event.value_as::<serde_json::Value>() {
            assert!(
                error.to_string().starts_with("number out of range"),
                "the processor cannot read a value: {error}"
            );
        }
    }
}

/// `data` is a publish request's JSON, as the admin API or the topic receives it.
pub fn publish_request(data: &[u8]) {
    let Ok(request) = serde_json::from_slice::<PublishRequest>(data) else {
        return;
    };
    if request.validate().is_err() {
        return;
    }
    let text = serde_json::to_vec(&request).expect("a request serializes");
    let read: PublishRequest = serde_json::from_slice(&text).expect("and reads back");
    assert_eq!(read, request, "a request changed in its JSON round trip");
    assert!(read.validate().is_ok(), "a valid request is no longer valid");
}

/// `data` is `[status hi, status lo, kind, X-App-Usage.., 0x00,
/// X-Business-Use-Case-Usage.., 0x00, body..]`.
pub fn graph_answer(data: &[u8]) {
    let [hi, lo, kind, rest @ ..] = data else {
        return;
    };
    let status = 100 + u16::from_be_bytes([*hi, *lo]) % 500;
    let mut parts = rest.splitn(3, |&b| b == 0);
    let (app, business, body) = (
        parts.next().unwrap_or(&[]),
        parts.next().unwrap_or(&[]),
        parts.next().unwrap_or(&[]),
    );
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in [("x-app-usage", app), ("x-business-use-case-usage", business)] {
        if let Ok(value) = reqwest::header::HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    let usage = Usage::from_headers(&headers);
    let call = match kind % 3 {
        0 => Call::get(Host::Facebook, "media", "1"),
        1 => Call::post(Host::Instagram, "media_publish", "1/media_publish"),
        _ => Call::post(Host::Facebook, "media", "1/media"),
    };
    match interpret(&call, status, usage, body) {
        Ok(answer) => assert!((200..300).contains(&answer.status)),
        Err(error) => {
            assert!(!(200..300).contains(&status), "a 2xx answer became a failure");
            assert_eq!(error.failure.http_status, Some(status));
            let _ = error.action();
        }
    }
}
