//! `X-Hub-Signature-256` (and, opted in, legacy `X-Hub-Signature`) verification over
//! the raw body bytes, in constant time, against every configured secret.

use actix_web::http::header::HeaderMap;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::Sha256;

/// The SHA-256 signature header.
pub const SHA256_HEADER: &str = "x-hub-signature-256";
/// The legacy SHA-1 signature header.
pub const SHA1_HEADER: &str = "x-hub-signature";

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No usable signature header.
    #[error("the request carries no X-Hub-Signature-256 header")]
    Missing,
    /// The header is not `sha256=<64 hex>` (or `sha1=<40 hex>`).
    #[error("the signature header is malformed")]
    Malformed,
    /// The header appears more than once.
    #[error("the signature header appears more than once")]
    Multiple,
    /// No configured secret produces this signature.
    #[error("the signature does not match")]
    Mismatch,
}

impl SignatureError {
    /// Every value of [`SignatureError::reason`].
    pub const REASONS: [&'static str; 4] = ["missing", "malformed", "multiple_headers", "mismatch"];

    /// A stable label for metrics.
    pub fn reason(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing",
            SignatureError::Malformed => "malformed",
            SignatureError::Multiple => "multiple_headers",
            SignatureError::Mismatch => "mismatch",
        }
    }
}

/// Which header verified a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// `X-Hub-Signature-256`.
    Sha256,
    /// `X-Hub-Signature`, accepted only when opted in.
    Sha1,
}

/// Verifies signatures with an app's secrets. Keys are set up once, at start.
#[derive(Clone)]
pub struct Verifier {
    sha256: Vec<Hmac<Sha256>>,
    sha1: Option<Vec<Hmac<Sha1>>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.sha256.len())
            .field("sha1", &self.sha1.is_some())
            .finish()
    }
}

impl Verifier {
    /// A verifier for `secrets`; `allow_sha1` opts in to the legacy header.
    pub fn new(secrets: &[SecretString], allow_sha1: bool) -> Self {
        let keys = || secrets.iter().map(|s| s.expose_secret().as_bytes());
        Verifier {
            sha256: keys()
                .filter_map(|k| Hmac::<Sha256>::new_from_slice(k).ok())
                .collect(),
            sha1: allow_sha1.then(|| {
                keys()
                    .filter_map(|k| Hmac::<Sha1>::new_from_slice(k).ok())
                    .collect()
            }),
        }
    }

    /// Verifies a delivery: the SHA-256 header when present; otherwise the SHA-1
    /// header if opted in.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<SignatureAlgorithm, SignatureError> {
        if let Some(value) = single_header(headers, SHA256_HEADER)? {
            let mac = decode(value, "sha256=", 32)?;
            return matches_any(&self.sha256, body, &mac)
                .then_some(SignatureAlgorithm::Sha256)
                .ok_or(SignatureError::Mismatch);
        }
        let Some(sha1) = &self.sha1 else {
            return Err(SignatureError::Missing);
        };
        let value = single_header(headers, SHA1_HEADER)?.ok_or(SignatureError::Missing)?;
        let mac = decode(value, "sha1=", 20)?;
        matches_any(sha1, body, &mac)
            .then_some(SignatureAlgorithm::Sha1)
            .ok_or(SignatureError::Mismatch)
    }

    /// Whether `signature` is HMAC-SHA256 of `message` under any secret (used for
    /// `signed_request`).
    pub fn matches_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        matches_any(&self.sha256, message, signature)
    }
}

fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h [u8]>, SignatureError> {
    let mut values = headers.get_all(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(SignatureError::Multiple);
    }
    Ok(first.map(|v| v.as_bytes()))
}

/// Parses `<prefix><hex>`. The prefix is matched case-insensitively and hex may be
/// either case: neither changes which MAC is claimed, and proxies have been seen to
/// alter case. The MAC itself must still match exactly.
fn decode(value: &[u8], prefix: &str, len: usize) -> Result<Vec<u8>, SignatureError> {
    let value = value.trim_ascii();
    if value.len() != prefix.len() + 2 * len
        || !value[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    {
        return Err(SignatureError::Malformed);
    }
    hex::decode(&value[prefix.len()..]).map_err(|_| SignatureError::Malformed)
}

/// Tries every key. `verify_slice` compares in constant time; every key is tried
/// so the time taken does not reveal which one matched.
fn matches_any<M: Mac + Clone>(keys: &[M], message: &[u8], signature: &[u8]) -> bool {
    keys.iter().fold(false, |found, key| {
        let mut mac = key.clone();
        mac.update(message);
        mac.verify_slice(signature).is_ok() | found
    })
}

/// The `X-Hub-Signature-256` value Meta would send for `body` signed with `secret`
/// (for tests, benchmarks and tools that play Meta's side).
pub fn sign_sha256(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The legacy `X-Hub-Signature` value for `body` signed with `secret`.
pub fn sign_sha1(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}
