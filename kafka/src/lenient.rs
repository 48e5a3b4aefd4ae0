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
        OneOrMany::One(text) if looks_like_a_broken_list(&text.0) => {
            return Err(serde::de::Error::custom(
                "looks like a list that does not parse; write [\"first\", \"second\"]",
            ))
        }
        OneOrMany::One(text) => vec![text],
    };
    Ok(texts.into_iter().map(|t| SecretString::from(t.0)).collect())
}

/// A single value that starts like a list or a table: a list that did not parse
/// (`GRAPHHOOK_APPS__MAIN__SECRETS='["a",'` reaches here as that text), never
/// meant as one secret.
fn looks_like_a_broken_list(text: &str) -> bool {
    matches!(text.trim_start().chars().next(), Some('[' | '{'))
}

/// An optional secret given as a string or a number.
pub fn optional_secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<LenientString>::deserialize(deserializer)?.map(|t| SecretString::from(t.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "secrets")]
        secrets: Vec<SecretString>,
    }

    #[test]
    fn one_secret_is_a_list_of_one_and_a_broken_list_is_refused() {
        let one: Holder = serde_json::from_str(r#"{"secrets": "s3cret"}"#).unwrap();
        assert_eq!(one.secrets.len(), 1);
        let two: Holder = serde_json::from_str(r#"{"secrets": ["a", 12]}"#).unwrap();
        assert_eq!(two.secrets.len(), 2);
        for broken in [r#"["a","#, r#" [ "a""#, "{a = 1"] {
            let json = serde_json::json!({ "secrets": broken }).to_string();
            let error = serde_json::from_str::<Holder>(&json)
                .err()
                .expect("refused");
            assert!(!error.to_string().contains(broken.trim()), "{error}");
        }
    }
}
