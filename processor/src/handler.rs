//! Applies one event inside a store transaction: its effects, its output records
//! (queued in the outbox) and its id commit together, so a redelivered or replayed
//! event changes nothing.

use graphhook_kafka::Topics;
use graphhook_schema::account::{AccountState, Reason};
use graphhook_schema::graph_error::{classify, ErrorClass};
use graphhook_schema::output::{
    AccountTransitionRecord, GraphErrorReport, MetricsInvalidationRecord, MetricsScope,
    OUTPUT_VERSION,
};
use graphhook_schema::topics::{ACCOUNTS, ENGAGEMENT, METRICS_INVALIDATIONS, PUBLISH_STATUS};
use graphhook_schema::InboundEvent;
use serde::Serialize;

use crate::account::{apply, Transition, Trigger};
use crate::deletion::carry_out;
use crate::engagement::{engagement, StaleMetrics};
use crate::feed::page_post_status;
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
    let mut outcome = Outcome::default();
    if !tx.claim_event(event.event_id.as_str(), now_ms).await? {
        outcome.duplicate = true;
        return Ok(outcome);
    }
    if let Some((trigger, target)) = account_trigger(event) {
        let accounts = match target {
            Target::Accounts(ids) => ids,
            Target::User(user) => tx.accounts_of_user(&event.app_id, &user).await?,
        };
        outcome.transitions =
            transition_accounts(tx, topics, event, trigger, &accounts, now_ms).await?;
        if trigger == Trigger::DataDeletionRequested {
            carry_out(tx, event, &accounts, now_ms).await?;
            outcome.data_deleted = true;
        }
    }
    if let Some(found) = engagement(event) {
        tx.ensure_account(&event.app_id, &event.account_id, now_ms)
            .await?;
        if let (Some(media_id), Some(insights)) = (&found.record.media_id, &found.record.insights) {
            let values =
                serde_json::to_string(insights).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.write_fresh(
                &event.app_id,
                &event.account_id,
                media_id,
                &values,
                found.record.occurred_at_ms,
            )
            .await?;
        }
        for stale in &found.stale {
            if invalidate(tx, topics, event, stale, now_ms).await? {
                outcome.invalidations += 1;
            } else {
                outcome.coalesced += 1;
            }
        }
        enqueue(tx, topics, ENGAGEMENT, event, &found.record, now_ms).await?;
        outcome.engagement = 1;
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
            enqueue(tx, topics, PUBLISH_STATUS, event, &status, now_ms).await?;
            outcome.publish_status = 1;
        }
    }
    Ok(outcome)
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
    let account = tx
        .ensure_account(&report.app_id, &report.account_id, now_ms)
        .await?;
    if let Some(transition) = apply(account.snapshot, trigger, report.time_ms) {
        tx.save_transition(
            &report.app_id,
            &report.account_id,
            &transition,
            source_id,
            now_ms,
        )
        .await?;
        let record = transition_record(source_id, &report.app_id, &report.account_id, &transition);
        tx.enqueue_json(
            &topics.name(ACCOUNTS),
            &report.account_id,
            &record,
            source_id,
            now_ms,
        )
        .await?;
        outcome.transitions.push((transition.to, transition.reason));
    }
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

async fn transition_accounts(
    tx: &mut StoreTx,
    topics: &Topics,
    event: &InboundEvent,
    trigger: Trigger,
    accounts: &[String],
    now_ms: i64,
) -> Result<Vec<(AccountState, Reason)>, StoreError> {
    let mut written = Vec::new();
    for account_id in accounts {
        let account = tx.ensure_account(&event.app_id, account_id, now_ms).await?;
        let Some(transition) = apply(account.snapshot, trigger, event.effective_time_ms()) else {
            continue;
        };
        tx.save_transition(
            &event.app_id,
            account_id,
            &transition,
            event.event_id.as_str(),
            now_ms,
        )
        .await?;
        let record = transition_record(
            event.event_id.as_str(),
            &event.app_id,
            account_id,
            &transition,
        );
        tx.enqueue_json(
            &topics.name(ACCOUNTS),
            account_id,
            &record,
            event.event_id.as_str(),
            now_ms,
        )
        .await?;
        written.push((transition.to, transition.reason));
    }
    Ok(written)
}

async fn invalidate(
    tx: &mut StoreTx,
    topics: &Topics,
    event: &InboundEvent,
    stale: &StaleMetrics,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let media_id = stale.media_id.as_deref().unwrap_or("");
    let at_ms = event.effective_time_ms();
    if !tx
        .mark_stale(&event.app_id, &event.account_id, media_id, at_ms)
        .await?
    {
        return Ok(false);
    }
    let record = MetricsInvalidationRecord {
        version: OUTPUT_VERSION,
        source_event_id: event.event_id.to_string(),
        app_id: event.app_id.clone(),
        account_id: event.account_id.clone(),
        scope: stale.scope,
        media_id: (stale.scope == MetricsScope::Media).then(|| media_id.to_owned()),
        cause: event.field.clone(),
        invalidated_at_ms: at_ms,
    };
    enqueue(tx, topics, METRICS_INVALIDATIONS, event, &record, now_ms).await?;
    Ok(true)
}

async fn enqueue<T: Serialize>(
    tx: &mut StoreTx,
    topics: &Topics,
    suffix: &str,
    event: &InboundEvent,
    record: &T,
    now_ms: i64,
) -> Result<(), StoreError> {
    let topic = topics.name(suffix);
    tx.enqueue_json(
        &topic,
        &event.account_id,
        record,
        event.event_id.as_str(),
        now_ms,
    )
    .await
}
