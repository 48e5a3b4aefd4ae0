//! Accounts: their state as the state machine left it, the user who connected
//! them, and their transitions. Many at a time in `batch`, the admin API's
//! reads and registrations in `admin`, data deletion in `deletion`.

mod admin;
mod batch;
mod deletion;

use graphhook_schema::account::{AccountState, Reason};
use sqlx::any::AnyRow;
use sqlx::Row;

use serde_json::json;

use super::sql::{json_rows, name, parse, rows_json, SqlType::*};
use super::{StoreError, StoreTx};
use crate::domain::account::{Snapshot, Transition};
use crate::domain::ids::{AccountId, AppId};

pub use admin::{Registration, TransitionRow};
pub use batch::{AccountKey, TransitionToSave};
pub use deletion::DeletionStatus;

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Meta's app id.
    pub app_id: AppId,
    /// Instagram account or Page id.
    pub account_id: AccountId,
    /// The app-scoped id of the user who connected it.
    pub user_id: Option<String>,
    /// The operator's tenant the account belongs to.
    pub tenant: Option<String>,
    /// The linked Facebook Page id.
    pub page_id: Option<String>,
    /// State, reason and when it changed.
    pub snapshot: Snapshot,
}

/// The columns [`account_from_row`] reads.
pub(super) const ACCOUNT_COLUMNS: &str =
    "app_id, account_id, user_id, tenant, page_id, state, reason, state_changed_at_ms";

/// Reads an account selected with [`ACCOUNT_COLUMNS`].
pub(super) fn account_from_row(row: &AnyRow) -> Result<AccountRow, StoreError> {
    let reason: Option<String> = row.try_get("reason")?;
    Ok(AccountRow {
        app_id: row.try_get("app_id")?,
        account_id: row.try_get("account_id")?,
        user_id: row.try_get("user_id")?,
        tenant: row.try_get("tenant")?,
        page_id: row.try_get("page_id")?,
        snapshot: Snapshot {
            state: parse(&row.try_get::<String, _>("state")?)?,
            reason: reason.as_deref().map(parse::<Reason>).transpose()?,
            changed_at_ms: row.try_get("state_changed_at_ms")?,
        },
    })
}

impl StoreTx {
    /// Creates the account as active if it is new, then returns it.
    pub async fn ensure_account(
        &mut self,
        app_id: &AppId,
        account_id: &AccountId,
        now_ms: i64,
    ) -> Result<AccountRow, StoreError> {
        sqlx::query(
            "INSERT INTO accounts (app_id, account_id, state, state_changed_at_ms, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (app_id, account_id) DO NOTHING",
        )
        .bind(app_id)
        .bind(account_id)
        .bind(name(&AccountState::Active))
        .bind(i64::MIN)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        self.account(app_id, account_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("account {app_id}/{account_id} vanished")))
    }

    /// Registers or updates an account's owner (the user who connected it).
    pub async fn set_account_user(
        &mut self,
        app_id: &AppId,
        account_id: &AccountId,
        user_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let registration = Registration {
            user_id: Some(user_id.to_owned()),
            ..Registration::default()
        };
        self.register(app_id, account_id, &registration, now_ms)
            .await
            .map(|_| ())
    }

    /// The account, if known.
    pub async fn account(
        &mut self,
        app_id: &AppId,
        account_id: &AccountId,
    ) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE app_id = $1 AND account_id = $2"
        ))
        .bind(app_id)
        .bind(account_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// The accounts a user connected.
    pub async fn accounts_of_user(
        &mut self,
        app_id: &AppId,
        user_id: &str,
    ) -> Result<Vec<AccountId>, StoreError> {
        let rows = sqlx::query("SELECT account_id FROM accounts WHERE app_id = $1 AND user_id = $2 ORDER BY account_id")
            .bind(app_id)
            .bind(user_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|r| r.try_get("account_id").map_err(StoreError::from))
            .collect()
    }

    /// Applies a transition to the account (which exists) and records it: one
    /// [`StoreTx::save_transitions`].
    pub async fn save_transition(
        &mut self,
        app_id: &AppId,
        account_id: &AccountId,
        transition: &Transition,
        source_event_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let saved = TransitionToSave {
            key: (app_id.clone(), account_id.clone()),
            transition: *transition,
            source_id: source_event_id.to_owned(),
        };
        self.save_transitions(std::slice::from_ref(&saved), now_ms)
            .await
    }

    /// Creates these accounts (active) where they are new.
    pub async fn ensure_accounts(
        &mut self,
        accounts: &[(&str, &str)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO accounts (app_id, account_id, state, state_changed_at_ms, created_at_ms, updated_at_ms) \
             {} ON CONFLICT (app_id, account_id) DO NOTHING",
            json_rows(
                self.engine,
                1,
                &[
                    ("app_id", Text),
                    ("account_id", Text),
                    ("state", Text),
                    ("changed_at", BigInt),
                    ("created_at", BigInt),
                    ("updated_at", BigInt),
                ]
            )
        );
        let active = name(&AccountState::Active);
        let rows = rows_json(accounts.iter().map(|(app_id, account_id)| {
            json!({
                "app_id": app_id,
                "account_id": account_id,
                "state": active,
                "changed_at": i64::MIN,
                "created_at": now_ms,
                "updated_at": now_ms,
            })
        }));
        sqlx::query(&sql).bind(rows).execute(&mut *self.tx).await?;
        Ok(())
    }
}
