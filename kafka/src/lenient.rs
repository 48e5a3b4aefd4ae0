//! Secret settings that environment variables may deliver as numbers, or as one
//! value where a list is allowed: figment reads
//! `GRAPHHOOK_APPS__X__VERIFY_TOKEN=1234` as an integer, and a verify token or a
//! secret can be all digits.

use graphhook_schema::lenient::LenientString;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<LenientString>),
    One(LenientString),
}

/// Secrets given as a list, or as one string or number (a single secret:
/// `GRAPHHOOK_APPS__MAIN__SECRETS=s3cr3t`).
pub fn secrets<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<SecretString>, D::Error> {
    let texts = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(texts) => texts,
        OneOrMany::One(text) => vec![text],
    };
    Ok(texts.into_iter().map(|t| SecretString::from(t.0)).collect())
}

/// An optional secret given as a string or a number.
pub fn optional_secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<LenientString>::deserialize(deserializer)?.map(|t| SecretString::from(t.0)))
}
