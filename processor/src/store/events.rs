//! Event ids already applied: claimed in the unit of work that applies them
//! (an id claimed twice is applied once), and pruned after the retention.

use std::collections::HashSet;

use sqlx::Row;

use super::sql::{json_rows, rows_json, SqlType::*};
use super::{Store, StoreError, StoreTx};

impl StoreTx {
    /// Records that `event_id` is being processed. `false` when it already was: the
    /// caller must then apply none of its effects.
    pub async fn claim_event(&mut self, event_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO processed_events (event_id, processed_at_ms) VALUES ($1, $2) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Claims these event ids; returns those that were not claimed before (the
    /// events to apply).
    pub async fn claim_events(
        &mut self,
        event_ids: &[&str],
        now_ms: i64,
    ) -> Result<HashSet<String>, StoreError> {
        let sql = format!(
            "INSERT INTO processed_events (event_id, processed_at_ms) {} \
             ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            json_rows(self.engine, 1, &[("event_id", Text), ("at", BigInt)])
        );
        let rows = rows_json(
            event_ids
                .iter()
                .map(|id| serde_json::json!({"event_id": id, "at": now_ms})),
        );
        let mut claimed = HashSet::with_capacity(event_ids.len());
        for row in sqlx::query(&sql)
            .bind(rows)
            .fetch_all(&mut *self.tx)
            .await?
        {
            claimed.insert(row.try_get("event_id")?);
        }
        Ok(claimed)
    }
}

impl Store {
    /// How many events have been applied (progress, benchmarks).
    pub async fn processed_event_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM processed_events")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Forgets event ids processed before `before_ms`, at most `limit` of them;
    /// returns how many. An event older than the retention, replayed, would be
    /// applied again.
    pub async fn prune_processed_events(
        &self,
        before_ms: i64,
        limit: i64,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM processed_events WHERE event_id IN \
             (SELECT event_id FROM processed_events WHERE processed_at_ms < $1 LIMIT $2)",
        )
        .bind(before_ms)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Tests and diagnostics only: every event id applied (not dead letters).
    #[cfg(feature = "testing")]
    pub async fn processed_event_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT event_id FROM processed_events WHERE event_id NOT LIKE 'dlq:%'",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
