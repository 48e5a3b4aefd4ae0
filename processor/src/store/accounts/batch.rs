//! Accounts read and their transitions written many at a time: a run of
//! `permissions` events changes dozens of accounts, and one statement each for
//! reading, updating and recording them would cost more than everything else the
//! run does.

use std::collections::HashMap;

use super::{account_from_row, ACCOUNT_COLUMNS};
use crate::domain::account::{Snapshot, Transition};
use crate::domain::ids::{AccountId, AppId};
use serde_json::json;

use crate::store::sql::{json_rows, name, rows_json, SqlType::*};
use crate::store::{StoreError, StoreTx};

/// An account: app id and account id.
pub type AccountKey = (AppId, AccountId);

/// A transition to save, and what caused it.
#[derive(Debug, Clone)]
pub struct TransitionToSave {
    /// The account.
    pub key: AccountKey,
    /// The transition.
    pub transition: Transition,
    /// The event, report or request that caused it.
    pub source_id: String,
}

impl StoreTx {
    /// The state of these accounts, where they exist.
    pub async fn account_snapshots(
        &mut self,
        keys: &[(&str, &str)],
    ) -> Result<HashMap<AccountKey, Snapshot>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE (app_id, account_id) IN ({})",
            json_rows(self.engine, 1, &[("app_id", Text), ("account_id", Text)])
        );
        let rows = rows_json(
            keys.iter()
                .map(|(app, account)| json!({"app_id": app, "account_id": account})),
        );
        let mut found = HashMap::with_capacity(keys.len());
        for row in sqlx::query(&sql)
            .bind(rows)
            .fetch_all(&mut *self.tx)
            .await?
        {
            let account = account_from_row(&row)?;
            found.insert((account.app_id, account.account_id), account.snapshot);
        }
        Ok(found)
    }

    /// Saves these transitions, in order: each is recorded, and each account is
    /// left in the state its last transition reached. The accounts exist.
    pub async fn save_transitions(
        &mut self,
        transitions: &[TransitionToSave],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut last: HashMap<&AccountKey, &Transition> = HashMap::new();
        for saved in transitions {
            last.insert(&saved.key, &saved.transition);
        }
        let mut last: Vec<(&AccountKey, &Transition)> = last.into_iter().collect();
        // One order for every writer: concurrent transactions lock rows alike.
        last.sort_unstable_by_key(|(key, _)| *key);
        let sql = format!(
            "INSERT INTO accounts (app_id, account_id, state, reason, state_changed_at_ms, created_at_ms, updated_at_ms) \
             {} ON CONFLICT (app_id, account_id) DO UPDATE SET state = excluded.state, \
             reason = excluded.reason, state_changed_at_ms = excluded.state_changed_at_ms, \
             updated_at_ms = excluded.updated_at_ms",
            json_rows(
                self.engine,
                1,
                &[
                    ("app_id", Text),
                    ("account_id", Text),
                    ("state", Text),
                    ("reason", Text),
                    ("changed_at", BigInt),
                    ("created_at", BigInt),
                    ("updated_at", BigInt),
                ]
            )
        );
        let rows = rows_json(last.iter().map(|((app_id, account_id), transition)| {
            json!({
                "app_id": app_id,
                "account_id": account_id,
                "state": name(&transition.to),
                "reason": name(&transition.reason),
                "changed_at": transition.at_ms,
                "created_at": now_ms,
                "updated_at": now_ms,
            })
        }));
        sqlx::query(&sql).bind(rows).execute(&mut *self.tx).await?;
        let sql = format!(
            "INSERT INTO account_transitions \
             (app_id, account_id, from_state, to_state, reason, action, source_event_id, occurred_at_ms, recorded_at_ms) {}",
            json_rows(
                self.engine,
                1,
                &[
                    ("app_id", Text),
                    ("account_id", Text),
                    ("from_state", Text),
                    ("to_state", Text),
                    ("reason", Text),
                    ("action", Text),
                    ("source", Text),
                    ("occurred_at", BigInt),
                    ("recorded_at", BigInt),
                ]
            )
        );
        let rows = rows_json(transitions.iter().map(|saved| {
            let t = &saved.transition;
            json!({
                "app_id": saved.key.0,
                "account_id": saved.key.1,
                "from_state": name(&t.from),
                "to_state": name(&t.to),
                "reason": name(&t.reason),
                "action": name(&t.action),
                "source": saved.source_id,
                "occurred_at": t.at_ms,
                "recorded_at": now_ms,
            })
        }));
        sqlx::query(&sql).bind(rows).execute(&mut *self.tx).await?;
        Ok(())
    }
}
