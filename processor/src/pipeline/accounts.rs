//! The accounts a run of events changes, read once and written once: the run's
//! `permissions` events name their accounts, which are read in one statement before
//! the events are handled; the state machine then runs on those states in memory,
//! event after event, and the transitions are saved in two statements when the run
//! ends, or before a data deletion erases what they would have written. The
//! result is what one event at a time would leave, in a few statements.

use std::collections::HashMap;

use crate::apply::transitions::{queue_transition, AccountChange};
use crate::domain::account::{apply, Snapshot, Transition};
use crate::domain::plan::Planned;
use crate::domain::triggers::Target;
use crate::store::{AccountKey, TransitionToSave};
use crate::unit_of_work::{UnitOfWork, WorkError};

/// Account states as the run left them, and the transitions not saved yet.
#[derive(Debug, Default)]
pub struct RunAccounts {
    states: HashMap<AccountKey, Snapshot>,
    unsaved: Vec<TransitionToSave>,
}

/// The accounts the new events of a run name as their triggers' targets.
pub fn named_accounts<'e>(events: &'e [Planned], new: &[bool]) -> Vec<(&'e str, &'e str)> {
    events
        .iter()
        .zip(new)
        .filter(|(_, new)| **new)
        .filter_map(|((event, plan), _)| match &plan.trigger {
            Some((_, Target::Accounts(ids))) => Some((event, ids)),
            _ => None,
        })
        .flat_map(|(event, ids)| ids.iter().map(|id| (event.app_id.as_str(), id.as_str())))
        .collect()
}

impl RunAccounts {
    /// Reads the state of these accounts (which exist).
    pub async fn load(
        uow: &mut UnitOfWork<'_>,
        accounts: &[(&str, &str)],
    ) -> Result<Self, WorkError> {
        let states = if accounts.is_empty() {
            HashMap::new()
        } else {
            uow.tx.account_snapshots(accounts).await?
        };
        Ok(RunAccounts {
            states,
            unsaved: Vec::new(),
        })
    }

    /// Applies a change to the account (created as active if new, when the run did
    /// not read it); returns the transition when the state machine made one. Its
    /// `accounts.v1` record is queued now, in the order of the run's outputs.
    pub async fn transition(
        &mut self,
        uow: &mut UnitOfWork<'_>,
        change: &AccountChange<'_>,
    ) -> Result<Option<Transition>, WorkError> {
        let key = (change.app_id.clone(), change.account_id.clone());
        let current = match self.states.get(&key) {
            Some(snapshot) => *snapshot,
            None => {
                uow.tx
                    .ensure_account(change.app_id, change.account_id, uow.now_ms)
                    .await?
                    .snapshot
            }
        };
        let Some(transition) = apply(current, change.trigger, change.at_ms) else {
            self.states.insert(key, current);
            return Ok(None);
        };
        self.states.insert(key.clone(), transition.snapshot());
        queue_transition(uow, change, &transition)?;
        self.unsaved.push(TransitionToSave {
            key,
            transition,
            source_id: change.source_id.to_owned(),
        });
        Ok(Some(transition))
    }

    /// Saves the transitions made since the last save.
    pub async fn save(&mut self, uow: &mut UnitOfWork<'_>) -> Result<(), WorkError> {
        if !self.unsaved.is_empty() {
            uow.tx.save_transitions(&self.unsaved, uow.now_ms).await?;
            self.unsaved.clear();
        }
        Ok(())
    }
}
