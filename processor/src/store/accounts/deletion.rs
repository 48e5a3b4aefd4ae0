//! Data deletion: erasing what graphhook holds about a user's accounts, and the
//! request's record under its confirmation code.

use serde::Serialize;
use sqlx::Row;

use crate::domain::ids::{AccountId, AppId};
use crate::store::{Store, StoreError, StoreTx};

/// A data-deletion request as `GET /data-deletion/{code}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletionStatus {
    /// The code given to the user.
    pub confirmation_code: String,
    /// `completed` once the data is erased.
    pub status: String,
    /// Accounts whose data was erased.
    pub accounts: i64,
    /// When the user asked (the callback's `issued_at`), epoch milliseconds.
    pub requested_at_ms: i64,
    /// When the data was erased, epoch milliseconds.
    pub completed_at_ms: Option<i64>,
}

impl StoreTx {
    /// Erases what is held about these accounts beyond their revoked state: cached
    /// metrics, Page posts, their owner, tenant and Page links, and every transition
    /// but the ones `keep_event_id` (the deletion itself) caused.
    pub async fn erase_accounts(
        &mut self,
        app_id: &AppId,
        accounts: &[AccountId],
        keep_event_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        for account_id in accounts {
            for statement in [
                "DELETE FROM metrics_cache WHERE app_id = $1 AND account_id = $2",
                "DELETE FROM page_posts WHERE app_id = $1 AND page_id = $2",
            ] {
                sqlx::query(statement)
                    .bind(app_id)
                    .bind(account_id)
                    .execute(&mut *self.tx)
                    .await?;
            }
            sqlx::query(
                "DELETE FROM account_transitions WHERE app_id = $1 AND account_id = $2 AND source_event_id <> $3",
            )
            .bind(app_id)
            .bind(account_id)
            .bind(keep_event_id)
            .execute(&mut *self.tx)
            .await?;
            sqlx::query(
                "UPDATE accounts SET user_id = NULL, tenant = NULL, page_id = NULL, updated_at_ms = $1 \
                 WHERE app_id = $2 AND account_id = $3",
            )
            .bind(now_ms)
            .bind(app_id)
            .bind(account_id)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Records a carried-out request (a repeated code keeps its first record).
    pub async fn record_deletion(
        &mut self,
        app_id: &AppId,
        status: &DeletionStatus,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deletion_requests (confirmation_code, app_id, status, accounts, requested_at_ms, completed_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (confirmation_code) DO NOTHING",
        )
        .bind(&status.confirmation_code)
        .bind(app_id)
        .bind(&status.status)
        .bind(status.accounts)
        .bind(status.requested_at_ms)
        .bind(status.completed_at_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl Store {
    /// The request with this confirmation code, if it was carried out.
    pub async fn deletion_status(&self, code: &str) -> Result<Option<DeletionStatus>, StoreError> {
        let row = sqlx::query(
            "SELECT confirmation_code, status, CAST(accounts AS BIGINT) AS accounts, requested_at_ms, completed_at_ms \
             FROM deletion_requests WHERE confirmation_code = $1",
        )
        .bind(code)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(DeletionStatus {
                confirmation_code: row.try_get("confirmation_code")?,
                status: row.try_get("status")?,
                accounts: row.try_get("accounts")?,
                requested_at_ms: row.try_get("requested_at_ms")?,
                completed_at_ms: row.try_get("completed_at_ms")?,
            })
        })
        .transpose()
    }
}
