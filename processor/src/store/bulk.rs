//! Multi-row statements for a whole batch: one round trip where the per-event
//! operations would take hundreds. Placeholders are numbered in ascending order
//! (see the module note on SQLite), and rows are sent in chunks well under both
//! engines' parameter limits.

use std::collections::HashSet;

use graphhook_schema::account::AccountState;
use sqlx::Row;

use super::transaction::name;
use super::{StoreError, StoreTx};

/// Rows per statement.
pub(super) const CHUNK: usize = 200;

/// A cached-metrics entry: app, account and media (empty for the account's own).
pub type MetricsKey = (String, String, String);

/// An output record to queue in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Full topic name.
    pub topic: String,
    /// Record key.
    pub key: String,
    /// Record value (JSON).
    pub payload: String,
    /// The event that caused it.
    pub source_event_id: String,
    /// The record's own id.
    pub record_id: String,
}

/// `($1, $2, ...), ($k, ...)` for `rows` rows of `columns` placeholders each, with
/// `literal` appended inside every tuple (e.g. `, 0`).
pub(super) fn tuples(rows: usize, columns: usize, literal: &str) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * columns + column + 1).to_string());
        }
        sql.push_str(literal);
        sql.push(')');
    }
    sql
}

impl StoreTx {
    /// Claims these event ids; returns those that were not claimed before (the
    /// events to apply).
    pub async fn claim_events(
        &mut self,
        event_ids: &[&str],
        now_ms: i64,
    ) -> Result<HashSet<String>, StoreError> {
        let mut claimed = HashSet::with_capacity(event_ids.len());
        for chunk in event_ids.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO processed_events (event_id, processed_at_ms) VALUES {} \
                 ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                tuples(chunk.len(), 2, "")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id).bind(now_ms);
            }
            for row in query.fetch_all(&mut *self.tx).await? {
                claimed.insert(row.try_get("event_id")?);
            }
        }
        Ok(claimed)
    }

    /// Creates these accounts (active) where they are new.
    pub async fn ensure_accounts(
        &mut self,
        accounts: &[(&str, &str)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let active = name(&AccountState::Active);
        for chunk in accounts.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO accounts (app_id, account_id, state, state_changed_at_ms, created_at_ms, updated_at_ms) \
                 VALUES {} ON CONFLICT (app_id, account_id) DO NOTHING",
                tuples(chunk.len(), 6, "")
            );
            let mut query = sqlx::query(&sql);
            for (app_id, account_id) in chunk {
                query = query
                    .bind(*app_id)
                    .bind(*account_id)
                    .bind(&active)
                    .bind(i64::MIN)
                    .bind(now_ms)
                    .bind(now_ms);
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Marks these entries (distinct keys) stale at their event times; returns the
    /// keys that were fresh (each warrants one invalidation record). Entries never
    /// fetched are recorded as stale and are not returned.
    pub async fn mark_stale_many(
        &mut self,
        entries: &[(MetricsKey, i64)],
    ) -> Result<HashSet<MetricsKey>, StoreError> {
        let mut invalidated = HashSet::new();
        for chunk in entries.chunks(CHUNK) {
            // A row comes back when inserted (never fetched: no `fetched_at_ms`) or
            // updated (it was fresh: it has one).
            let sql = format!(
                "INSERT INTO metrics_cache (app_id, account_id, media_id, stale_since_ms, fresh) VALUES {} \
                 ON CONFLICT (app_id, account_id, media_id) DO UPDATE SET fresh = 0, stale_since_ms = excluded.stale_since_ms \
                 WHERE metrics_cache.fresh = 1 \
                 RETURNING app_id, account_id, media_id, fetched_at_ms",
                tuples(chunk.len(), 4, ", 0")
            );
            let mut query = sqlx::query(&sql);
            for ((app_id, account_id, media_id), at_ms) in chunk {
                query = query
                    .bind(app_id)
                    .bind(account_id)
                    .bind(media_id)
                    .bind(*at_ms);
            }
            for row in query.fetch_all(&mut *self.tx).await? {
                let fetched: Option<i64> = row.try_get("fetched_at_ms")?;
                if fetched.is_some() {
                    invalidated.insert((
                        row.try_get("app_id")?,
                        row.try_get("account_id")?,
                        row.try_get("media_id")?,
                    ));
                }
            }
        }
        Ok(invalidated)
    }

    /// Stores fresh values of these entries (distinct keys): `(key, values JSON,
    /// fetched at)`.
    pub async fn write_fresh_many(
        &mut self,
        entries: &[(MetricsKey, String, i64)],
    ) -> Result<(), StoreError> {
        for chunk in entries.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO metrics_cache (app_id, account_id, media_id, values_json, fetched_at_ms, fresh) VALUES {} \
                 ON CONFLICT (app_id, account_id, media_id) DO UPDATE SET values_json = excluded.values_json, \
                 fetched_at_ms = excluded.fetched_at_ms, fresh = 1, stale_since_ms = NULL",
                tuples(chunk.len(), 5, ", 1")
            );
            let mut query = sqlx::query(&sql);
            for ((app_id, account_id, media_id), values, at_ms) in chunk {
                query = query
                    .bind(app_id)
                    .bind(account_id)
                    .bind(media_id)
                    .bind(values)
                    .bind(*at_ms);
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Queues these output records, in order; they are sent after commit. Rows
    /// whose `claimed` flag is set are written claimed by `claim.0` until
    /// `claim.1`. Returns the outbox ids they got.
    pub async fn enqueue_many(
        &mut self,
        entries: &[OutboxEntry],
        now_ms: i64,
        claim: Option<(&str, i64)>,
        claimed: &[bool],
    ) -> Result<Vec<i64>, StoreError> {
        let mut ids = Vec::with_capacity(entries.len());
        for (index, chunk) in entries.chunks(CHUNK).enumerate() {
            let sql = format!(
                "INSERT INTO outbox (topic, record_key, payload, source_event_id, record_id, created_at_ms, \
                 claimed_by, claimed_until_ms) VALUES {} RETURNING id",
                tuples(chunk.len(), 8, "")
            );
            let mut query = sqlx::query(&sql);
            for (offset, entry) in chunk.iter().enumerate() {
                let row_claim = claim.filter(|_| {
                    claimed
                        .get(index * CHUNK + offset)
                        .copied()
                        .unwrap_or(false)
                });
                query = query
                    .bind(&entry.topic)
                    .bind(&entry.key)
                    .bind(&entry.payload)
                    .bind(&entry.source_event_id)
                    .bind(&entry.record_id)
                    .bind(now_ms)
                    .bind(row_claim.map(|(owner, _)| owner.to_owned()))
                    .bind(row_claim.map(|(_, until)| until));
            }
            for row in query.fetch_all(&mut *self.tx).await? {
                ids.push(row.try_get("id")?);
            }
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::tuples;

    #[test]
    fn placeholders_ascend_through_rows() {
        assert_eq!(tuples(2, 3, ""), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(tuples(1, 2, ", 0"), "($1, $2, 0)");
    }
}
