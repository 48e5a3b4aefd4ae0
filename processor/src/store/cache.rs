//! Cached metrics, one entry at a time (batches use the multi-row forms in
//! `bulk`).

use super::{StoreError, StoreTx};

impl StoreTx {
    /// Marks cached metrics stale (`media_id` empty for account metrics). `true` only
    /// when a fresh entry became stale: a burst of events invalidates once until the
    /// entry is refreshed. An entry never fetched is recorded as stale.
    pub async fn mark_stale(
        &mut self,
        app_id: &str,
        account_id: &str,
        media_id: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE metrics_cache SET fresh = 0, stale_since_ms = $1 \
             WHERE app_id = $2 AND account_id = $3 AND media_id = $4 AND fresh = 1",
        )
        .bind(at_ms)
        .bind(app_id)
        .bind(account_id)
        .bind(media_id)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() == 1 {
            return Ok(true);
        }
        sqlx::query(
            "INSERT INTO metrics_cache (app_id, account_id, media_id, fresh, stale_since_ms) VALUES ($1, $2, $3, 0, $4) \
             ON CONFLICT (app_id, account_id, media_id) DO NOTHING",
        )
        .bind(app_id)
        .bind(account_id)
        .bind(media_id)
        .bind(at_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(false)
    }

    /// Stores freshly fetched (or pushed, for story insights) metric values.
    pub async fn write_fresh(
        &mut self,
        app_id: &str,
        account_id: &str,
        media_id: &str,
        values_json: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO metrics_cache (app_id, account_id, media_id, values_json, fetched_at_ms, fresh, stale_since_ms) \
             VALUES ($1, $2, $3, $4, $5, 1, NULL) ON CONFLICT (app_id, account_id, media_id) \
             DO UPDATE SET values_json = excluded.values_json, fetched_at_ms = excluded.fetched_at_ms, fresh = 1, stale_since_ms = NULL",
        )
        .bind(app_id)
        .bind(account_id)
        .bind(media_id)
        .bind(values_json)
        .bind(at_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
