//! The transactional outbox: output records are committed with the effects that
//! caused them and sent to Kafka afterwards by a relay.
//!
//! A relay claims rows for a short lease (`claimed_by`, `claimed_until_ms`) in a
//! transaction of its own, commits, and only then sends them: no transaction is
//! held while Kafka is awaited. Claims are made one relay at a time (an advisory
//! lock on PostgreSQL; SQLite has one writer) and never take a row whose topic and
//! key another relay holds a live claim on, so one key's records are sent by one
//! relay at a time, in commit order. A relay that dies leaves its claims to expire.
//!
//! The consumer skips the claim round trip for its own batch: its unit of work
//! writes the rows already claimed ([`OutboxClaim`]) when no earlier row of their
//! topic and key is pending, and sends them itself after the commit.

use std::collections::HashSet;

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{json_rows, rows_json, SqlType::*};
use super::{Engine, Store, StoreError};

/// An output record waiting for Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Row id, in commit order.
    pub id: i64,
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

const COLUMNS: &str = "id, topic, record_key, payload, source_event_id, record_id";

/// A claim written with the rows themselves: `owner` holds them for `lease_ms`
/// from the unit of work's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxClaim {
    /// The claimant (never a relay's own name, so its rounds leave these rows).
    /// It has every row it claimed acknowledged before its next batch (the rows
    /// of one batch, even one split in several transactions, are sent together in
    /// id order), so its rows that wait only to be deleted hold back no later row
    /// of their key.
    pub owner: String,
    /// How long the claim lasts, ms.
    pub lease_ms: i64,
}

/// Serializes claims between PostgreSQL relays (`pg_advisory_xact_lock` key).
const CLAIM_LOCK: i64 = 0x6772_6170_6868_6f6f;

fn outbox_row(row: &AnyRow) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: row.try_get("id")?,
        topic: row.try_get("topic")?,
        key: row.try_get("record_key")?,
        payload: row.try_get("payload")?,
        source_event_id: row.try_get("source_event_id")?,
        record_id: row.try_get("record_id")?,
    })
}

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

impl super::StoreTx {
    /// Which of these topics and keys have outbox rows pending. Rows claimed by
    /// `acknowledged_owner` are left out: that claimant's earlier batches are
    /// acknowledged, waiting to be deleted (see [`OutboxClaim::owner`]).
    pub async fn pending_outbox_keys(
        &mut self,
        keys: &[(&str, &str)],
        acknowledged_owner: &str,
    ) -> Result<HashSet<(String, String)>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT topic, record_key FROM outbox WHERE (topic, record_key) IN ({}) \
             AND (claimed_by IS NULL OR claimed_by <> $2)",
            json_rows(self.engine, 1, &[("topic", Text), ("record_key", Text)])
        );
        let rows = rows_json(
            keys.iter()
                .map(|(topic, key)| json!({"topic": topic, "record_key": key})),
        );
        let rows = sqlx::query(&sql)
            .bind(rows)
            .bind(acknowledged_owner)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("topic")?, row.try_get("record_key")?)))
            .collect()
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
        let sql = format!(
            "INSERT INTO outbox (topic, record_key, payload, source_event_id, record_id, created_at_ms, \
             claimed_by, claimed_until_ms) {} RETURNING id",
            json_rows(
                self.engine,
                1,
                &[
                    ("topic", Text),
                    ("record_key", Text),
                    ("payload", Text),
                    ("source_event_id", Text),
                    ("record_id", Text),
                    ("created_at_ms", BigInt),
                    ("claimed_by", Text),
                    ("claimed_until_ms", BigInt),
                ]
            )
        );
        let rows = rows_json(entries.iter().enumerate().map(|(index, entry)| {
            let row_claim = claim.filter(|_| claimed.get(index).copied().unwrap_or(false));
            json!({
                "topic": entry.topic,
                "record_key": entry.key,
                "payload": entry.payload,
                "source_event_id": entry.source_event_id,
                "record_id": entry.record_id,
                "created_at_ms": now_ms,
                "claimed_by": row_claim.map(|(owner, _)| owner),
                "claimed_until_ms": row_claim.map(|(_, until)| until),
            })
        }));
        let mut ids = Vec::with_capacity(entries.len());
        for row in sqlx::query(&sql)
            .bind(rows)
            .fetch_all(&mut *self.tx)
            .await?
        {
            ids.push(row.try_get("id")?);
        }
        Ok(ids)
    }
}

impl Store {
    /// Output records committed but not yet acknowledged by Kafka, oldest first.
    pub async fn pending_outbox(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM outbox ORDER BY id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// Claims up to `limit` of the oldest rows for `relay` until `lease_until_ms`:
    /// unclaimed rows, rows whose claim expired before `now_ms`, and the relay's
    /// own, except rows of a topic and key that another relay holds a live claim
    /// on. Returns them in id order; the claim is committed when this returns.
    pub async fn claim_outbox(
        &self,
        relay: &str,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let skip_locked = match self.engine() {
            Engine::Postgres => "FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until_ms = $2 WHERE id IN (\
               SELECT o.id FROM outbox o \
               WHERE (o.claimed_until_ms IS NULL OR o.claimed_until_ms < $3 OR o.claimed_by = $1) \
               AND NOT EXISTS (SELECT 1 FROM outbox c WHERE c.topic = o.topic AND c.record_key = o.record_key \
                 AND c.claimed_until_ms >= $3 AND c.claimed_by <> $1) \
               ORDER BY o.id LIMIT $4 {skip_locked}) \
             RETURNING {COLUMNS}"
        );
        let mut tx = self.begin().await?;
        if self.engine() == Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(CLAIM_LOCK)
                .execute(&mut *tx.tx)
                .await?;
        }
        let rows = sqlx::query(&sql)
            .bind(relay)
            .bind(lease_until_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        let mut rows = rows.iter().map(outbox_row).collect::<Result<Vec<_>, _>>()?;
        rows.sort_by_key(|row| row.id);
        Ok(rows)
    }

    /// Forgets output records Kafka has acknowledged (by id: other relays' rows
    /// interleave), in one statement.
    pub async fn delete_outbox(&self, ids: &[i64]) -> Result<(), StoreError> {
        let sql = format!(
            "DELETE FROM outbox WHERE id IN ({})",
            json_rows(self.engine(), 1, &[("id", BigInt)])
        );
        let rows = rows_json(ids.iter().map(|id| json!({ "id": id })));
        sqlx::query(&sql).bind(rows).execute(self.pool()).await?;
        Ok(())
    }

    /// Gives up `relay`'s claims (shutdown), so that others need not wait for them
    /// to expire.
    pub async fn release_outbox_claims(&self, relay: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET claimed_by = NULL, claimed_until_ms = NULL WHERE claimed_by = $1",
        )
        .bind(relay)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Moves a row Kafka refused for good to `outbox_parked`, with the reason.
    pub async fn park_outbox(&self, id: i64, reason: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO outbox_parked ({COLUMNS}, reason, parked_at_ms) \
             SELECT {COLUMNS}, $1, $2 FROM outbox WHERE id = $3"
        ))
        .bind(reason)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    /// Which of the rows with ids from `min` to `max` are still pending.
    pub async fn pending_outbox_between(&self, min: i64, max: i64) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT id FROM outbox WHERE id >= $1 AND id <= $2")
            .bind(min)
            .bind(max)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| row.try_get("id").map_err(StoreError::from))
            .collect()
    }

    /// How many records were parked (tests, operators).
    pub async fn parked_outbox_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox_parked")
            .fetch_one(self.pool())
            .await?)
    }
}
