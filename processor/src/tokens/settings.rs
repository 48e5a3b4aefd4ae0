//! The `[tokens]` configuration section.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use graphhook_kafka::SettingsError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// How tokens are kept and refreshed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Encryption keys by id: 32 random bytes each, base64
    /// (`openssl rand -base64 32`). Every key decrypts; new tokens are encrypted
    /// under `active_key`. Without keys, tokens cannot be registered.
    #[serde(serialize_with = "graphhook_kafka::redact::secret_values")]
    pub keys: BTreeMap<String, SecretString>,
    /// The id of the key new tokens are encrypted under.
    pub active_key: Option<String>,
    /// Refresh user tokens this many days before they expire.
    pub refresh_before_days: u64,
    /// Spread refreshes over this many hours (each token gets its own offset).
    pub refresh_jitter_hours: u64,
    /// A token still not refreshed when this many hours remain flags its account
    /// `reconnect_required`, while a refresh is still possible by a user login.
    pub alert_before_hours: u64,
    /// A token closer than this to its expiry is refreshed before it is handed out.
    pub hard_margin_hours: u64,
    /// How often the pre-rotation job looks for tokens to refresh or audit.
    pub check_interval_secs: u64,
    /// How often Page tokens (which do not expire) are audited with `debug_token`.
    pub page_audit_hours: u64,
    /// First wait after a refresh failed for now (doubles, up to six hours).
    pub retry_initial_secs: u64,
    /// How long one replica's claim on a token's refresh lasts.
    pub lease_secs: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            keys: BTreeMap::new(),
            active_key: None,
            refresh_before_days: 7,
            refresh_jitter_hours: 12,
            alert_before_hours: 72,
            hard_margin_hours: 24,
            check_interval_secs: 300,
            page_audit_hours: 24,
            retry_initial_secs: 60,
            lease_secs: 120,
        }
    }
}

/// A key id as the cipher knows it: ids are case-insensitive, because
/// environment variable names are lower-cased on the way in.
pub(crate) fn key_id(id: &str) -> String {
    id.to_ascii_lowercase()
}

/// Whether `id` can be a key id: letters, digits, `_` and `-`, at most 64 (only
/// `_` works in an environment variable's name: `GRAPHHOOK_TOKENS__KEYS__K2026_11`).
fn valid_key_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The bytes of key `id`, or why they are not a key.
pub(crate) fn key_bytes(id: &str, key: &SecretString) -> Result<[u8; 32], SettingsError> {
    let bytes = STANDARD
        .decode(key.expose_secret().trim())
        .map_err(|_| SettingsError::new(format!("tokens.keys.{id}"), "is not base64"))?;
    bytes.try_into().map_err(|_| {
        SettingsError::new(
            format!("tokens.keys.{id}"),
            "must be 32 bytes (openssl rand -base64 32)",
        )
    })
}

impl TokenSettings {
    /// Checks values that deserialize but cannot work.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut ids = std::collections::BTreeSet::new();
        for (id, key) in &self.keys {
            if !valid_key_id(id) {
                return Err(SettingsError::new(
                    "tokens.keys",
                    "key ids are letters, digits, '_' and '-' (at most 64); use '_' where an environment variable names the key",
                ));
            }
            if !ids.insert(key_id(id)) {
                return Err(SettingsError::new(
                    format!("tokens.keys.{id}"),
                    "differs from another key id only in case (key ids are case-insensitive)",
                ));
            }
            key_bytes(id, key)?;
        }
        match &self.active_key {
            Some(active) if !ids.contains(&key_id(active)) => {
                return Err(SettingsError::new(
                    "tokens.active_key",
                    format!("names no key under tokens.keys ({active:?})"),
                ))
            }
            None if !self.keys.is_empty() => {
                return Err(SettingsError::new(
                    "tokens.active_key",
                    "is required when tokens.keys is set",
                ))
            }
            _ => {}
        }
        if self.alert_before_hours >= self.refresh_before_days * 24 {
            return Err(SettingsError::new(
                "tokens.alert_before_hours",
                "must be less than tokens.refresh_before_days: refreshing starts first",
            ));
        }
        if self.hard_margin_hours > self.alert_before_hours {
            return Err(SettingsError::new(
                "tokens.hard_margin_hours",
                "must not exceed tokens.alert_before_hours",
            ));
        }
        for (key, value) in [
            ("tokens.check_interval_secs", self.check_interval_secs),
            ("tokens.retry_initial_secs", self.retry_initial_secs),
            ("tokens.lease_secs", self.lease_secs),
            ("tokens.page_audit_hours", self.page_audit_hours),
        ] {
            if value == 0 {
                return Err(SettingsError::new(key, "must be positive"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_32_bytes_and_the_active_one_must_exist() {
        let mut settings = TokenSettings::default();
        settings.validate().unwrap();
        settings
            .keys
            .insert("k1".into(), SecretString::from(STANDARD.encode([7u8; 32])));
        assert_eq!(settings.validate().unwrap_err().key, "tokens.active_key");
        settings.active_key = Some("k2".into());
        assert_eq!(settings.validate().unwrap_err().key, "tokens.active_key");
        settings.active_key = Some("K1".into());
        settings.validate().expect("key ids are case-insensitive");
        settings.active_key = Some("k1".into());
        settings.validate().unwrap();
        settings.keys.insert(
            "short".into(),
            SecretString::from(STANDARD.encode([7u8; 16])),
        );
        let error = settings.validate().unwrap_err();
        assert_eq!(error.key, "tokens.keys.short");
        assert!(!error.to_string().contains("Bwc"), "the key is not printed");
    }
}
