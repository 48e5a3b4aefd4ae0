//! `graphhook tokens rotate-key`: re-encrypts every token under the active key, so
//! that keys no longer active can be removed from the configuration.

use super::cipher::{context, CipherError, TokenCipher};
use crate::store::{Store, StoreError};

/// Why the rotation stopped.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// A token cannot be decrypted with the configured keys.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Re-encrypts every token not under the active key; returns how many. A token
/// refreshed meanwhile (under the active key already) is left alone.
pub async fn rotate_key(store: &Store, cipher: &TokenCipher) -> Result<usize, RotateError> {
    let mut rewritten = 0;
    loop {
        let batch = store.tokens_not_under(cipher.active_key(), 200).await?;
        if batch.is_empty() {
            return Ok(rewritten);
        }
        let mut progressed = false;
        for stored in batch {
            let record = &stored.record;
            let row = context(&record.app_id, &record.account_id, record.kind.as_str());
            let token = cipher.open(&row, &stored.sealed)?;
            let sealed = cipher.seal(&row, &token)?;
            if store
                .reseal_token(record.key(), &stored.sealed, &sealed)
                .await?
            {
                rewritten += 1;
                progressed = true;
            }
        }
        if !progressed {
            return Ok(rewritten);
        }
    }
}

/// Stored tokens no configured key decrypts, by key id: tokens under a key
/// removed from `tokens.keys` (or any token when no keys are configured). Their
/// accounts' publications are held with `token_unreadable` (or
/// `tokens_not_configured`) until the key is back.
pub async fn unreadable_keys(
    store: &Store,
    cipher: Option<&TokenCipher>,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(store
        .tokens_by_key()
        .await?
        .into_iter()
        .filter(|(key, count)| *count > 0 && !cipher.is_some_and(|c| c.knows(key)))
        .collect())
}
