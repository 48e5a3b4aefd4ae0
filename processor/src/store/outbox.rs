//! The transactional outbox: output records are committed with the effects that
//! caused them and sent to Kafka afterwards.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Engine, Store, StoreError, StoreTx};

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
}

const SELECT: &str =
    "SELECT id, topic, record_key, payload, source_event_id FROM outbox ORDER BY id LIMIT $1";

fn outbox_row(row: &AnyRow) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: row.try_get("id")?,
        topic: row.try_get("topic")?,
        key: row.try_get("record_key")?,
        payload: row.try_get("payload")?,
        source_event_id: row.try_get("source_event_id")?,
    })
}

impl Store {
    /// Output records committed but not yet acknowledged by Kafka, oldest first.
    pub async fn pending_outbox(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(SELECT)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// The oldest `limit` pending records, locked by the returned transaction: on
    /// PostgreSQL another replica relaying at the same time waits, then finds them
    /// deleted, so no record is sent by two replicas (SQLite has one writer).
    pub async fn lock_outbox(&self, limit: i64) -> Result<(StoreTx, Vec<OutboxRow>), StoreError> {
        let mut tx = self.begin().await?;
        let query = match self.engine() {
            Engine::Postgres => format!("{SELECT} FOR UPDATE"),
            Engine::Sqlite => SELECT.to_owned(),
        };
        let rows = sqlx::query(&query)
            .bind(limit)
            .fetch_all(&mut *tx.tx)
            .await?;
        let rows = rows.iter().map(outbox_row).collect::<Result<_, _>>()?;
        Ok((tx, rows))
    }

    /// Forgets output records Kafka has acknowledged.
    pub async fn delete_outbox(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.delete_outbox(ids).await?;
        tx.commit().await
    }
}

impl StoreTx {
    /// Deletes these outbox rows (by id, not by range: another replica's rows may
    /// interleave). The ids are integers read from the table, written into the
    /// statement as a list.
    pub async fn delete_outbox(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        for chunk in ids.chunks(1_000) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            sqlx::query(&format!(
                "DELETE FROM outbox WHERE id IN ({})",
                list.join(", ")
            ))
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}
