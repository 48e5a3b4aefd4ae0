//! Cached metrics: marked stale by engagement, written fresh by client
//! services, read with their freshness by the admin API; one entry at a time
//! or many (a batch's).

use std::collections::HashSet;

use serde::Serialize;
use sqlx::Row;

use serde_json::json;

use super::sql::{json_rows, rows_json, SqlType::*};
use super::{Store, StoreError, StoreTx};
use crate::domain::ids::{AccountId, AppId, MediaId};

/// A cached-metrics entry: app, account and media (empty for the account's own).
pub type MetricsKey = (AppId, AccountId, MediaId);

/// A cached metrics entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsEntry {
    /// The values as last fetched (or pushed), if ever.
    pub values: Option<serde_json::Value>,
    /// When they were fetched, epoch milliseconds.
    pub fetched_at_ms: Option<i64>,
    /// `false` once an event has changed them since.
    pub fresh: bool,
    /// Event time of the first change since the fetch.
    pub stale_since_ms: Option<i64>,
}

impl StoreTx {
    /// Marks cached metrics stale (`media_id` empty for account metrics). `true` only
    /// when a fresh entry became stale: a burst of events invalidates once until the
    /// entry is refreshed. An entry never fetched is recorded as stale.
    pub async fn mark_stale(
        &mut self,
        app_id: &AppId,
        account_id: &AccountId,
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
        app_id: &AppId,
        account_id: &AccountId,
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

    /// Marks these entries (distinct keys) stale at their event times; returns the
    /// keys that were fresh (each warrants one invalidation record). Entries never
    /// fetched are recorded as stale and are not returned.
    pub async fn mark_stale_many(
        &mut self,
        entries: &[(MetricsKey, i64)],
    ) -> Result<HashSet<MetricsKey>, StoreError> {
        // A row comes back when inserted (never fetched: no `fetched_at_ms`) or
        // updated (it was fresh: it has one).
        let sql = format!(
            "INSERT INTO metrics_cache (app_id, account_id, media_id, stale_since_ms, fresh) {} \
             ON CONFLICT (app_id, account_id, media_id) DO UPDATE SET fresh = 0, stale_since_ms = excluded.stale_since_ms \
             WHERE metrics_cache.fresh = 1 \
             RETURNING app_id, account_id, media_id, fetched_at_ms",
            json_rows(self.engine, 1, &[("app", Text), ("account", Text), ("media", Text), ("at", BigInt), ("fresh", BigInt)])
        );
        let rows = rows_json(entries.iter().map(|((app, account, media), at_ms)| {
            json!({"app": app, "account": account, "media": media, "at": at_ms, "fresh": 0})
        }));
        let mut invalidated = HashSet::new();
        for row in sqlx::query(&sql)
            .bind(rows)
            .fetch_all(&mut *self.tx)
            .await?
        {
            let fetched: Option<i64> = row.try_get("fetched_at_ms")?;
            if fetched.is_some() {
                invalidated.insert((
                    row.try_get("app_id")?,
                    row.try_get("account_id")?,
                    row.try_get("media_id")?,
                ));
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
        let sql = format!(
            "INSERT INTO metrics_cache (app_id, account_id, media_id, values_json, fetched_at_ms, fresh) {} \
             ON CONFLICT (app_id, account_id, media_id) DO UPDATE SET values_json = excluded.values_json, \
             fetched_at_ms = excluded.fetched_at_ms, fresh = 1, stale_since_ms = NULL",
            json_rows(self.engine, 1, &[("app", Text), ("account", Text), ("media", Text), ("metrics", Text), ("at", BigInt), ("fresh", BigInt)])
        );
        let rows = rows_json(entries.iter().map(|((app, account, media), values, at_ms)| {
            json!({"app": app, "account": account, "media": media, "metrics": values, "at": at_ms, "fresh": 1})
        }));
        sqlx::query(&sql).bind(rows).execute(&mut *self.tx).await?;
        Ok(())
    }
}

impl Store {
    /// The cached metrics of a media (`media_id` empty: of the account).
    pub async fn metrics_entry(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        media_id: &str,
    ) -> Result<Option<MetricsEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT values_json, fetched_at_ms, CAST(fresh AS BIGINT) AS fresh, stale_since_ms FROM metrics_cache \
             WHERE app_id = $1 AND account_id = $2 AND media_id = $3",
        )
        .bind(app_id)
        .bind(account_id)
        .bind(media_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let values: Option<String> = row.try_get("values_json")?;
            let values = values
                .map(|text| serde_json::from_str(&text).map_err(|_| StoreError::Corrupt(text)))
                .transpose()?;
            Ok(MetricsEntry {
                values,
                fetched_at_ms: row.try_get("fetched_at_ms")?,
                fresh: row.try_get::<i64, _>("fresh")? == 1,
                stale_since_ms: row.try_get("stale_since_ms")?,
            })
        })
        .transpose()
    }
}
