//! Tokens at rest: AES-256-GCM (RustCrypto's `aes-gcm`) under a key id from the
//! configuration, a random 96-bit nonce per encryption, and the token's app,
//! account and kind as additional data, so a ciphertext copied to another row does
//! not decrypt. Every configured key decrypts; new ciphertexts use the active key.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use graphhook_kafka::SettingsError;
use secrecy::{ExposeSecret, SecretString};

use super::settings::{key_bytes, key_id};
use super::TokenSettings;

pub use crate::domain::token::Sealed;

/// Why a token cannot be decrypted or encrypted. Never says anything about the
/// token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The token is encrypted under a key that is no longer configured.
    #[error("the token is encrypted under key {0:?}, which is not configured")]
    UnknownKey(String),
    /// The stored value does not decrypt (tampered, or moved to another row).
    #[error("the stored token does not decrypt")]
    Corrupt,
}

/// Encrypts and decrypts tokens.
pub struct TokenCipher {
    active: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCipher")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TokenCipher {
    /// The cipher of validated settings; `None` when no keys are configured.
    /// Key ids are case-insensitive (environment variable names are lower-cased
    /// on the way in: `GRAPHHOOK_TOKENS__KEYS__K1` is the key `k1`).
    pub fn from_settings(settings: &TokenSettings) -> Result<Option<Self>, SettingsError> {
        let Some(active) = settings.active_key.as_deref().map(key_id) else {
            return Ok(None);
        };
        let mut keys = BTreeMap::new();
        for (id, key) in &settings.keys {
            let bytes = key_bytes(id, key)?;
            keys.insert(
                key_id(id),
                Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
            );
        }
        if !keys.contains_key(&active) {
            return Err(SettingsError::new("tokens.active_key", "names no key"));
        }
        Ok(Some(TokenCipher { active, keys }))
    }

    /// Whether a token stored under `key_id` can be decrypted.
    pub fn knows(&self, key_id: &str) -> bool {
        self.keys.contains_key(&self::key_id(key_id))
    }

    /// The id of the key new tokens are encrypted under.
    pub fn active_key(&self) -> &str {
        &self.active
    }

    /// Encrypts `token` under the active key, bound to `context`.
    pub fn seal(&self, context: &str, token: &SecretString) -> Result<Sealed, CipherError> {
        let cipher = self
            .keys
            .get(&self.active)
            .ok_or_else(|| CipherError::UnknownKey(self.active.clone()))?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: token.expose_secret().as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CipherError::Corrupt)?;
        Ok(Sealed {
            key_id: self.active.clone(),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        })
    }

    /// Decrypts a stored token bound to `context`.
    pub fn open(&self, context: &str, sealed: &Sealed) -> Result<SecretString, CipherError> {
        let cipher = self
            .keys
            .get(&key_id(&sealed.key_id))
            .ok_or_else(|| CipherError::UnknownKey(sealed.key_id.clone()))?;
        let nonce = STANDARD
            .decode(&sealed.nonce)
            .map_err(|_| CipherError::Corrupt)?;
        if nonce.len() != 12 {
            return Err(CipherError::Corrupt);
        }
        let ciphertext = STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| CipherError::Corrupt)?;
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CipherError::Corrupt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CipherError::Corrupt)
    }
}

/// What binds a ciphertext to its row.
pub fn context(app_id: &str, account_id: &str, kind: &str) -> String {
    format!("graphhook.token.v1\u{1f}{app_id}\u{1f}{account_id}\u{1f}{kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(keys: &[(&str, u8)], active: &str) -> TokenCipher {
        let settings = TokenSettings {
            keys: keys
                .iter()
                .map(|(id, byte)| {
                    (
                        (*id).to_owned(),
                        SecretString::from(STANDARD.encode([*byte; 32])),
                    )
                })
                .collect(),
            active_key: Some(active.to_owned()),
            ..TokenSettings::default()
        };
        TokenCipher::from_settings(&settings).unwrap().unwrap()
    }

    #[test]
    fn a_token_decrypts_only_with_its_key_and_in_its_row() {
        let old = cipher(&[("k1", 1)], "k1");
        let token = SecretString::from("EAAG-token-value");
        let row = context("1", "17841400000", "page");
        let sealed = old.seal(&row, &token).unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.contains("EAAG"));
        assert_eq!(
            old.open(&row, &sealed).unwrap().expose_secret(),
            "EAAG-token-value"
        );
        let elsewhere = context("1", "17841400001", "page");
        assert_eq!(
            old.open(&elsewhere, &sealed).err(),
            Some(CipherError::Corrupt)
        );
        let rotated = cipher(&[("k1", 1), ("k2", 2)], "k2");
        assert_eq!(
            rotated.open(&row, &sealed).unwrap().expose_secret(),
            "EAAG-token-value"
        );
        let resealed = rotated.seal(&row, &token).unwrap();
        assert_eq!(resealed.key_id, "k2");
        assert_ne!(resealed.nonce, sealed.nonce);
        let without_k1 = cipher(&[("k2", 2)], "k2");
        assert_eq!(
            without_k1.open(&row, &resealed).unwrap().expose_secret(),
            "EAAG-token-value"
        );
        assert_eq!(
            without_k1.open(&row, &sealed).err(),
            Some(CipherError::UnknownKey("k1".into()))
        );
    }
}
