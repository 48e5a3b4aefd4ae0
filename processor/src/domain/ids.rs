//! Typed ids: Meta's app id, an account (Instagram account or Page), a media
//! object, a media container and a client's publication request each have
//! their own type, so that one cannot be passed where another is meant. Each
//! reads as the `str` it holds (`Deref`), compares with strings, and is
//! written as that string (serde transparent), so topics, the store and the
//! admin API keep their text.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                $name(id.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

typed_id!(
    /// Meta's app id (the app the webhooks and tokens belong to).
    AppId
);
typed_id!(
    /// An Instagram account id or a Facebook Page id.
    AccountId
);
typed_id!(
    /// A published Instagram media object's id.
    MediaId
);
typed_id!(
    /// An Instagram media container's id.
    ContainerId
);
typed_id!(
    /// A client's publication request id (idempotency key).
    RequestId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_compares_and_serializes_as_its_text() {
        let app = AppId::from("1234");
        assert_eq!(app, "1234");
        assert_eq!(app.len(), 4, "reads as a str");
        assert_eq!(app.to_string(), "1234");
        assert_eq!(serde_json::to_string(&app).unwrap(), "\"1234\"");
        let back: AccountId = serde_json::from_str("\"178\"").unwrap();
        assert_eq!(back.as_str(), "178");
    }
}
