//! Applies an account trigger inside a unit of work: the state machine decides, a
//! transition is saved, and its `accounts.v1` record is queued. Events, Graph error
//! reports, the admin API and the token jobs all change accounts through here.

use graphhook_schema::output::{AccountTransitionRecord, OUTPUT_VERSION};
use graphhook_schema::topics::ACCOUNTS;

use crate::domain::account::{apply, Transition, Trigger};
use crate::domain::ids::{AccountId, AppId};
use crate::unit_of_work::{UnitOfWork, WorkError};

/// A trigger for one account, and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct AccountChange<'a> {
    /// Meta's app id.
    pub app_id: &'a AppId,
    /// The Instagram account or Page.
    pub account_id: &'a AccountId,
    /// What happened.
    pub trigger: Trigger,
    /// When (event time), epoch milliseconds.
    pub at_ms: i64,
    /// The event, report or request that caused it.
    pub source_id: &'a str,
}

/// Applies a change to the account (created as active if new). Returns the
/// transition when the state machine made one.
pub async fn transition_account(
    uow: &mut UnitOfWork<'_>,
    change: &AccountChange<'_>,
) -> Result<Option<Transition>, WorkError> {
    let account = uow
        .tx
        .ensure_account(change.app_id, change.account_id, uow.now_ms)
        .await?;
    let Some(transition) = apply(account.snapshot, change.trigger, change.at_ms) else {
        return Ok(None);
    };
    uow.tx
        .save_transition(
            change.app_id,
            change.account_id,
            &transition,
            change.source_id,
            uow.now_ms,
        )
        .await?;
    queue_transition(uow, change, &transition)?;
    Ok(Some(transition))
}

/// Queues the `accounts.v1` record of a transition `change` made, and counts it.
pub fn queue_transition(
    uow: &mut UnitOfWork<'_>,
    change: &AccountChange<'_>,
    transition: &Transition,
) -> Result<(), WorkError> {
    let record = AccountTransitionRecord {
        version: OUTPUT_VERSION,
        record_id: String::new(),
        source_event_id: change.source_id.to_owned(),
        app_id: change.app_id.to_string(),
        account_id: change.account_id.to_string(),
        from: transition.from,
        to: transition.to,
        reason: transition.reason,
        action: transition.action,
        occurred_at_ms: transition.at_ms,
    };
    let effect = format!("{}:{}", change.account_id, transition.to.as_str());
    uow.outputs.push(
        ACCOUNTS,
        change.account_id,
        record,
        change.source_id,
        &effect,
    )?;
    uow.report
        .transitions
        .push((transition.to, transition.reason));
    Ok(())
}
