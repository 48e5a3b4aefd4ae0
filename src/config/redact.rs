//! Secrets in configuration errors: figment quotes what it found, which for a
//! malformed secret is the secret itself; these errors are rewritten before
//! anyone sees them.

use figment::error::{Actual, Kind};

/// Configuration keys whose values are secrets, wherever they appear.
const SECRET_KEYS: [&str; 6] = [
    "secrets",
    "instagram_app_secret",
    "verify_token",
    "admin_token",
    "database_url",
    "keys",
];

/// Whether the value at `path` is a secret: a key of [`SECRET_KEYS`] (or inside
/// one), or any `kafka.client.*` property.
pub(super) fn is_secret_path(path: &[String]) -> bool {
    path.iter().any(|key| SECRET_KEYS.contains(&key.as_str()))
        || (path.first().map(String::as_str) == Some("kafka")
            && path.get(1).map(String::as_str) == Some("client"))
}

/// Replaces the values quoted by errors about secret keys: figment's errors quote
/// what they found (`found string "..."`), which for a malformed secret is the
/// secret itself.
pub(super) fn redact_secrets(error: figment::Error) -> figment::Error {
    let mut errors: Vec<figment::Error> = error
        .into_iter()
        .map(|mut e| {
            if is_secret_path(&e.path) {
                e.kind = redact_kind(e.kind);
            }
            e
        })
        .collect();
    let Some(mut chained) = errors.pop() else {
        return figment::Error::from("invalid configuration".to_owned());
    };
    while let Some(next) = errors.pop() {
        chained = chained.chain(next);
    }
    chained
}

fn redact_kind(kind: Kind) -> Kind {
    let hidden = |actual: Actual| match actual {
        Actual::Str(_) | Actual::Bytes(_) | Actual::Char(_) | Actual::Other(_) => {
            Actual::Other("a value (not shown: secret)".to_owned())
        }
        Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_) => {
            Actual::Other("a number (not shown: secret)".to_owned())
        }
        other => other,
    };
    match kind {
        Kind::InvalidType(actual, expected) => Kind::InvalidType(hidden(actual), expected),
        Kind::InvalidValue(actual, expected) => Kind::InvalidValue(hidden(actual), expected),
        Kind::Unsupported(actual) => Kind::Unsupported(hidden(actual)),
        Kind::UnsupportedKey(actual, key) => Kind::UnsupportedKey(hidden(actual), key),
        Kind::UnknownVariant(_, expected) => {
            Kind::UnknownVariant("(not shown: secret)".to_owned(), expected)
        }
        Kind::Message(_) => Kind::Message("invalid value (not shown: secret)".to_owned()),
        other => other,
    }
}
