//! What the admin API reads and writes of accounts: registration, an account with
//! its recent transitions, accounts by state.

use graphhook_schema::account::AccountState;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{account_from_row, AccountRow, ACCOUNT_COLUMNS};
use crate::domain::ids::{AccountId, AppId};
use crate::store::sql::name;
use crate::store::{Store, StoreError, StoreTx};

/// Fields an operator registers or updates; absent fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The operator's tenant.
    pub tenant: Option<String>,
    /// The linked Facebook Page id.
    pub page_id: Option<String>,
    /// The app-scoped id of the user who connected the account (what deauthorize
    /// and data-deletion callbacks carry).
    pub user_id: Option<String>,
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionRow {
    /// State before.
    pub from: String,
    /// State after.
    pub to: String,
    /// Why.
    pub reason: String,
    /// What must be done.
    pub action: String,
    /// The event (or report) that caused it.
    pub source_event_id: String,
    /// Event time, epoch milliseconds.
    pub occurred_at_ms: i64,
}

impl StoreTx {
    /// Creates the account (active) if it is new and sets the given fields.
    pub async fn register(
        &mut self,
        app_id: &AppId,
        account_id: &AccountId,
        registration: &Registration,
        now_ms: i64,
    ) -> Result<AccountRow, StoreError> {
        self.ensure_account(app_id, account_id, now_ms).await?;
        sqlx::query(
            "UPDATE accounts SET tenant = COALESCE($1, tenant), page_id = COALESCE($2, page_id), \
             user_id = COALESCE($3, user_id), updated_at_ms = $4 WHERE app_id = $5 AND account_id = $6",
        )
        .bind(registration.tenant.as_deref())
        .bind(registration.page_id.as_deref())
        .bind(registration.user_id.as_deref())
        .bind(now_ms)
        .bind(app_id)
        .bind(account_id)
        .execute(&mut *self.tx)
        .await?;
        self.ensure_account(app_id, account_id, now_ms).await
    }
}

impl Store {
    /// The account, if known.
    pub async fn account(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
    ) -> Result<Option<AccountRow>, StoreError> {
        self.begin().await?.account(app_id, account_id).await
    }

    /// The account and its latest `limit` transitions, newest first.
    pub async fn account_with_transitions(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        limit: i64,
    ) -> Result<Option<(AccountRow, Vec<TransitionRow>)>, StoreError> {
        let mut tx = self.begin().await?;
        let Some(account) = tx.account(app_id, account_id).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT from_state, to_state, reason, action, source_event_id, occurred_at_ms \
             FROM account_transitions WHERE app_id = $1 AND account_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(app_id)
        .bind(account_id)
        .bind(limit)
        .fetch_all(&mut *tx.tx)
        .await?;
        let transitions = rows
            .iter()
            .map(|row| {
                Ok(TransitionRow {
                    from: row.try_get("from_state")?,
                    to: row.try_get("to_state")?,
                    reason: row.try_get("reason")?,
                    action: row.try_get("action")?,
                    source_event_id: row.try_get("source_event_id")?,
                    occurred_at_ms: row.try_get("occurred_at_ms")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some((account, transitions)))
    }

    /// Accounts of `app_id` (in `state`, when given), ordered by account id, after
    /// `after`.
    pub async fn accounts(
        &self,
        app_id: &AppId,
        state: Option<AccountState>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<AccountRow>, StoreError> {
        let rows = match state {
            Some(state) => {
                sqlx::query(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE app_id = $1 AND state = $2 \
                     AND account_id > $3 ORDER BY account_id LIMIT $4"
                ))
                .bind(app_id)
                .bind(name(&state))
                .bind(after)
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE app_id = $1 \
                     AND account_id > $2 ORDER BY account_id LIMIT $3"
                ))
                .bind(app_id)
                .bind(after)
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(account_from_row).collect()
    }
}
