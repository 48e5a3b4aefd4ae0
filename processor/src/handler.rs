//! Applies events inside a store transaction: their effects, their output records
//! (queued in the outbox) and their ids commit together, so a redelivered or
//! replayed event changes nothing.

use graphhook_kafka::Topics;
use graphhook_schema::account::{AccountState, Reason};
use graphhook_schema::graph_error::{classify, ErrorClass};
use graphhook_schema::output::{
    AccountTransitionRecord, GraphErrorReport, MetricsInvalidationRecord, MetricsScope,
    OUTPUT_VERSION,
};
use graphhook_schema::topics::{ACCOUNTS, ENGAGEMENT, METRICS_INVALIDATIONS, PUBLISH_STATUS};
use graphhook_schema::InboundEvent;

use crate::account::{apply, Transition, Trigger};
use crate::cache_ops::PendingCache;
use crate::deletion::carry_out;
use crate::engagement::engagement;
use crate::feed::page_post_status;
use crate::outputs::Outputs;
use crate::store::{PostStatus, StoreError, StoreTx};
use crate::triggers::{account_trigger, Target};

/// What handling an event did, for metrics and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The event was handled before; nothing was done.
    pub duplicate: bool,
    /// Account transitions written: new state and reason of each.
    pub transitions: Vec<(AccountState, Reason)>,
    /// A data-deletion request was carried out.
    pub data_deleted: bool,
    /// Engagement records written.
    pub engagement: usize,
    /// Invalidation records written (fresh -> stale).
    pub invalidations: usize,
    /// Invalidations coalesced into an earlier one (already stale).
    pub coalesced: usize,
    /// Publish-status records written.
    pub publish_status: usize,
}

/// Handles `event` within `tx`; the caller commits.
pub async fn handle(
    tx: &mut StoreTx,
    topics: &Topics,
    event: &InboundEvent,
    now_ms: i64,
) -> Result<Outcome, StoreError> {
    let mut outcomes = handle_events(tx, topics, std::slice::from_ref(event), now_ms).await?;
    Ok(outcomes.pop().unwrap_or_default())
}

/// Handles `events` in order within `tx` (the caller commits), with the same
/// effects as one at a time but in a few multi-row statements: ids are claimed
/// together, new accounts created together, cached metrics and output records
/// written together. Returns one outcome per event.
pub async fn handle_events(
    tx: &mut StoreTx,
    topics: &Topics,
    events: &[InboundEvent],
    now_ms: i64,
) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes = vec![Outcome::default(); events.len()];
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    let mut unclaimed = tx.claim_events(&ids, now_ms).await?;
    for (event, outcome) in events.iter().zip(&mut outcomes) {
        // The same event twice in one batch: only its first occurrence is new.
        outcome.duplicate = !unclaimed.remove(event.event_id.as_str());
    }
    let found: Vec<_> = events
        .iter()
        .zip(&outcomes)
        .map(|(event, outcome)| (!outcome.duplicate).then(|| engagement(event)).flatten())
        .collect();
    let mut accounts: Vec<(&str, &str)> = events
        .iter()
        .zip(&found)
        .filter(|(_, found)| found.is_some())
        .map(|(e, _)| (e.app_id.as_str(), e.account_id.as_str()))
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    tx.ensure_accounts(&accounts, now_ms).await?;

    let mut outputs = Outputs::new(topics);
    let mut cache = PendingCache::default();
    for (index, event) in events.iter().enumerate() {
        if outcomes[index].duplicate {
            continue;
        }
        if let Some((trigger, target)) = account_trigger(event) {
            if trigger == Trigger::DataDeletionRequested {
                // Erasure must see every cached-metrics change before it.
                apply_cache(tx, &mut cache, events, &mut outcomes, &mut outputs).await?;
            }
            let accounts = match target {
                Target::Accounts(ids) => ids,
                Target::User(user) => tx.accounts_of_user(&event.app_id, &user).await?,
            };
            outcomes[index].transitions =
                transition_accounts(tx, &mut outputs, event, trigger, &accounts, now_ms).await?;
            if trigger == Trigger::DataDeletionRequested {
                carry_out(tx, event, &accounts, now_ms).await?;
                outcomes[index].data_deleted = true;
            }
        }
        if let Some(found) = &found[index] {
            let key = |media: &str| {
                (
                    event.app_id.clone(),
                    event.account_id.clone(),
                    media.to_owned(),
                )
            };
            if let (Some(media_id), Some(insights)) =
                (&found.record.media_id, &found.record.insights)
            {
                let values = serde_json::to_string(insights)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                cache.fresh(key(media_id), values, found.record.occurred_at_ms);
            }
            for stale in &found.stale {
                let media_id = stale.media_id.as_deref().unwrap_or("");
                cache.stale(key(media_id), stale.scope, event.effective_time_ms(), index);
            }
            outputs.push(
                ENGAGEMENT,
                &event.account_id,
                &found.record,
                event.event_id.as_str(),
            )?;
            outcomes[index].engagement = 1;
        }
        if let Some(status) = page_post_status(event) {
            let post = PostStatus {
                post_id: &status.object_id,
                item: status.item.as_deref(),
                status: status.status,
                at_ms: status.occurred_at_ms,
            };
            if tx
                .update_post_status(&event.app_id, &event.account_id, &post)
                .await?
            {
                outputs.push(
                    PUBLISH_STATUS,
                    &event.account_id,
                    &status,
                    event.event_id.as_str(),
                )?;
                outcomes[index].publish_status = 1;
            }
        }
    }
    apply_cache(tx, &mut cache, events, &mut outcomes, &mut outputs).await?;
    outputs.flush(tx, now_ms).await?;
    Ok(outcomes)
}

/// Writes the pending cached-metrics changes and queues an invalidation record for
/// each entry that turned stale.
async fn apply_cache(
    tx: &mut StoreTx,
    cache: &mut PendingCache,
    events: &[InboundEvent],
    outcomes: &mut [Outcome],
    outputs: &mut Outputs<'_>,
) -> Result<(), StoreError> {
    let flushed = cache.flush(tx).await?;
    for index in flushed.coalesced {
        outcomes[index].coalesced += 1;
    }
    for invalidation in flushed.invalidations {
        let event = &events[invalidation.event];
        let (_, _, media_id) = &invalidation.key;
        let record = MetricsInvalidationRecord {
            version: OUTPUT_VERSION,
            source_event_id: event.event_id.to_string(),
            app_id: event.app_id.clone(),
            account_id: event.account_id.clone(),
            scope: invalidation.scope,
            media_id: (invalidation.scope == MetricsScope::Media).then(|| media_id.clone()),
            cause: event.field.clone(),
            invalidated_at_ms: invalidation.at_ms,
        };
        outputs.push(
            METRICS_INVALIDATIONS,
            &event.account_id,
            &record,
            event.event_id.as_str(),
        )?;
        outcomes[invalidation.event].invalidations += 1;
    }
    Ok(())
}

/// Handles a Graph API error a client service reported. `source_id` identifies the
/// report (its topic, partition and offset): redelivered, it changes nothing. A
/// reconnect-class error flags the account; the class is returned for counting.
pub async fn handle_graph_error(
    tx: &mut StoreTx,
    topics: &Topics,
    report: &GraphErrorReport,
    source_id: &str,
    now_ms: i64,
) -> Result<(ErrorClass, Outcome), StoreError> {
    let class = classify(
        report.http_status,
        report.code,
        report.subcode,
        report.is_transient,
    );
    let mut outcome = Outcome::default();
    if !tx.claim_event(source_id, now_ms).await? {
        outcome.duplicate = true;
        return Ok((class, outcome));
    }
    let trigger = Trigger::GraphError {
        http_status: report.http_status,
        code: report.code,
        subcode: report.subcode,
        is_transient: report.is_transient,
    };
    let mut outputs = Outputs::new(topics);
    let change = AccountChange {
        app_id: &report.app_id,
        account_id: &report.account_id,
        trigger,
        at_ms: report.time_ms,
        source_id,
    };
    if let Some(transition) = transition_account(tx, &mut outputs, &change, now_ms).await? {
        outcome.transitions.push((transition.to, transition.reason));
    }
    outputs.flush(tx, now_ms).await?;
    Ok((class, outcome))
}

fn transition_record(
    source_id: &str,
    app_id: &str,
    account_id: &str,
    transition: &Transition,
) -> AccountTransitionRecord {
    AccountTransitionRecord {
        version: OUTPUT_VERSION,
        source_event_id: source_id.to_owned(),
        app_id: app_id.to_owned(),
        account_id: account_id.to_owned(),
        from: transition.from,
        to: transition.to,
        reason: transition.reason,
        action: transition.action,
        occurred_at_ms: transition.at_ms,
    }
}

/// A trigger for one account, and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct AccountChange<'a> {
    /// Meta's app id.
    pub app_id: &'a str,
    /// The Instagram account or Page.
    pub account_id: &'a str,
    /// What happened.
    pub trigger: Trigger,
    /// When (event time), epoch milliseconds.
    pub at_ms: i64,
    /// The event, report or request that caused it.
    pub source_id: &'a str,
}

/// Applies a change to the account (created as active if new): the state machine
/// decides; a transition is saved and its `accounts.v1` record queued in `outputs`.
pub async fn transition_account(
    tx: &mut StoreTx,
    outputs: &mut Outputs<'_>,
    change: &AccountChange<'_>,
    now_ms: i64,
) -> Result<Option<Transition>, StoreError> {
    let account = tx
        .ensure_account(change.app_id, change.account_id, now_ms)
        .await?;
    let Some(transition) = apply(account.snapshot, change.trigger, change.at_ms) else {
        return Ok(None);
    };
    tx.save_transition(
        change.app_id,
        change.account_id,
        &transition,
        change.source_id,
        now_ms,
    )
    .await?;
    let record = transition_record(
        change.source_id,
        change.app_id,
        change.account_id,
        &transition,
    );
    outputs.push(ACCOUNTS, change.account_id, &record, change.source_id)?;
    Ok(Some(transition))
}

async fn transition_accounts(
    tx: &mut StoreTx,
    outputs: &mut Outputs<'_>,
    event: &InboundEvent,
    trigger: Trigger,
    accounts: &[String],
    now_ms: i64,
) -> Result<Vec<(AccountState, Reason)>, StoreError> {
    let mut written = Vec::new();
    for account_id in accounts {
        let change = AccountChange {
            app_id: &event.app_id,
            account_id,
            trigger,
            at_ms: event.effective_time_ms(),
            source_id: event.event_id.as_str(),
        };
        if let Some(transition) = transition_account(tx, outputs, &change, now_ms).await? {
            written.push((transition.to, transition.reason));
        }
    }
    Ok(written)
}
