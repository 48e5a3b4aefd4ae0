//! Re-encryption under a new key: the tokens still under an old key, the swap of
//! one token's ciphertext, and how many tokens each key holds.

use super::{bind_key, tokens, Row, StoredToken, TokenKey, COLUMNS};
use crate::domain::token::Sealed;
use crate::store::{Store, StoreError};

impl Store {
    /// Up to `limit` tokens not encrypted under `key_id`, for re-encryption.
    pub async fn tokens_not_under(
        &self,
        key_id: &str,
        limit: i64,
    ) -> Result<Vec<StoredToken>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM tokens WHERE key_id <> $1 ORDER BY app_id, account_id, kind LIMIT $2"
        ))
        .bind(key_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        tokens(rows)
    }

    /// Replaces a token's ciphertext if it is still the one that was read (a
    /// refresh in between wins); `true` when replaced.
    pub async fn reseal_token(
        &self,
        key: TokenKey<'_>,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let query = sqlx::query(
            "UPDATE tokens SET key_id = $1, nonce = $2, ciphertext = $3 WHERE key_id = $4 AND nonce = $5 \
             AND app_id = $6 AND account_id = $7 AND kind = $8",
        )
        .bind(&new.key_id)
        .bind(&new.nonce)
        .bind(&new.ciphertext)
        .bind(&old.key_id)
        .bind(&old.nonce);
        let updated = bind_key(query, key).execute(self.pool()).await?;
        Ok(updated.rows_affected() == 1)
    }

    /// How many tokens are encrypted under each key.
    pub async fn tokens_by_key(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT key_id, COUNT(*) FROM tokens GROUP BY key_id ORDER BY key_id")
                .fetch_all(self.pool())
                .await?;
        Ok(rows)
    }
}
