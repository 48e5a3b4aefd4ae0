//! A refresh claimed by one replica at a time, and what it leaves: the new token,
//! a failure and when to try again, or the time of a check with Meta.

use super::{bind_key, TokenKey};
use crate::domain::token::Sealed;
use crate::store::{Store, StoreError};

impl Store {
    /// Claims a token's refresh for `owner` until `until_ms`; `false` when another
    /// replica holds it.
    pub async fn claim_token(
        &self,
        key: TokenKey<'_>,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let query = sqlx::query(
            "UPDATE tokens SET lease_owner = $1, lease_until_ms = $2 WHERE (lease_until_ms < $3 \
             OR lease_owner = $1) AND app_id = $4 AND account_id = $5 AND kind = $6",
        )
        .bind(owner)
        .bind(until_ms)
        .bind(now_ms);
        let updated = bind_key(query, key).execute(self.pool()).await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Gives up a claim.
    pub async fn release_token(&self, key: TokenKey<'_>, owner: &str) -> Result<(), StoreError> {
        let query = sqlx::query(
            "UPDATE tokens SET lease_owner = NULL, lease_until_ms = 0 WHERE lease_owner = $1 \
             AND app_id = $2 AND account_id = $3 AND kind = $4",
        )
        .bind(owner);
        bind_key(query, key).execute(self.pool()).await?;
        Ok(())
    }

    /// Stores a refreshed token and its new expiry.
    pub async fn save_refreshed_token(
        &self,
        key: TokenKey<'_>,
        sealed: &Sealed,
        expires_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = sqlx::query(
            "UPDATE tokens SET key_id = $1, nonce = $2, ciphertext = $3, expires_at_ms = $4, issued_at_ms = $5, \
             last_refresh_at_ms = $5, last_check_at_ms = $5, failures = 0, next_attempt_at_ms = 0, \
             updated_at_ms = $5 WHERE app_id = $6 AND account_id = $7 AND kind = $8",
        )
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(expires_at_ms)
        .bind(now_ms);
        bind_key(query, key).execute(self.pool()).await?;
        Ok(())
    }

    /// Records a failed refresh and when to try again.
    pub async fn save_token_failure(
        &self,
        key: TokenKey<'_>,
        failures: i64,
        next_attempt_at_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = sqlx::query(
            "UPDATE tokens SET failures = $1, next_attempt_at_ms = $2, updated_at_ms = $3 \
             WHERE app_id = $4 AND account_id = $5 AND kind = $6",
        )
        .bind(failures)
        .bind(next_attempt_at_ms)
        .bind(now_ms);
        bind_key(query, key).execute(self.pool()).await?;
        Ok(())
    }

    /// Records that the token was checked with Meta at `now_ms`.
    pub async fn save_token_check(&self, key: TokenKey<'_>, now_ms: i64) -> Result<(), StoreError> {
        let query = sqlx::query(
            "UPDATE tokens SET last_check_at_ms = $1, updated_at_ms = $1 \
             WHERE app_id = $2 AND account_id = $3 AND kind = $4",
        )
        .bind(now_ms);
        bind_key(query, key).execute(self.pool()).await?;
        Ok(())
    }
}
