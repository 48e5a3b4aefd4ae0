//! Accounts read and their transitions written many at a time: a run of
//! `permissions` events changes dozens of accounts, and one statement each for
//! reading, updating and recording them would cost more than everything else the
//! run does.

use std::collections::HashMap;

use super::{account_from_row, ACCOUNT_COLUMNS};
use crate::domain::account::{Snapshot, Transition};
use crate::domain::ids::{AccountId, AppId};
use crate::store::sql::{name, tuples, CHUNK};
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
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE (app_id, account_id) IN ({})",
                tuples(chunk.len(), 2, "")
            );
            let mut query = sqlx::query(&sql);
            for (app_id, account_id) in chunk {
                query = query.bind(*app_id).bind(*account_id);
            }
            for row in query.fetch_all(&mut *self.tx).await? {
                let account = account_from_row(&row)?;
                found.insert((account.app_id, account.account_id), account.snapshot);
            }
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
        for chunk in last.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO accounts (app_id, account_id, state, reason, state_changed_at_ms, created_at_ms, updated_at_ms) \
                 VALUES {} ON CONFLICT (app_id, account_id) DO UPDATE SET state = excluded.state, \
                 reason = excluded.reason, state_changed_at_ms = excluded.state_changed_at_ms, \
                 updated_at_ms = excluded.updated_at_ms",
                tuples(chunk.len(), 7, "")
            );
            let mut query = sqlx::query(&sql);
            for ((app_id, account_id), transition) in chunk {
                query = query
                    .bind(app_id)
                    .bind(account_id)
                    .bind(name(&transition.to))
                    .bind(name(&transition.reason))
                    .bind(transition.at_ms)
                    .bind(now_ms)
                    .bind(now_ms);
            }
            query.execute(&mut *self.tx).await?;
        }
        for chunk in transitions.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO account_transitions \
                 (app_id, account_id, from_state, to_state, reason, action, source_event_id, occurred_at_ms, recorded_at_ms) \
                 VALUES {}",
                tuples(chunk.len(), 9, "")
            );
            let mut query = sqlx::query(&sql);
            for saved in chunk {
                let t = &saved.transition;
                query = query
                    .bind(&saved.key.0)
                    .bind(&saved.key.1)
                    .bind(name(&t.from))
                    .bind(name(&t.to))
                    .bind(name(&t.reason))
                    .bind(name(&t.action))
                    .bind(&saved.source_id)
                    .bind(t.at_ms)
                    .bind(now_ms);
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}
