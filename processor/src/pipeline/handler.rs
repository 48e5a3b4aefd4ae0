//! Applies planned events and Graph error reports inside a unit of work: their
//! effects, their output records (queued in the outbox) and their ids commit
//! together, so a redelivered or replayed event changes nothing.

use graphhook_graph::answer::classify;
use graphhook_schema::output::{
    GraphErrorReport, MetricsInvalidationRecord, MetricsScope, PublishStatus, OUTPUT_VERSION,
};
use graphhook_schema::topics::{ENGAGEMENT, METRICS_INVALIDATIONS, PUBLISH_STATUS};
use graphhook_schema::InboundEvent;

use super::accounts::{named_accounts, RunAccounts};
use super::posts::RunPosts;
use crate::apply::cache::PendingCache;
use crate::apply::deletion::carry_out;
use crate::apply::transitions::{transition_account, AccountChange};
use crate::domain::account::Trigger;
use crate::domain::content::{check_id, Rejection};
use crate::domain::ids::{AccountId, AppId, MediaId};
use crate::domain::triggers::Target;
use crate::unit_of_work::{UnitOfWork, WorkError};

pub use crate::domain::plan::Planned;

/// Handles `events` in order within the unit of work, with the same effects as one
/// at a time but in a few multi-row statements: ids are claimed together, new
/// accounts created and named accounts read together, their transitions, Page-post
/// statuses, cached metrics and output records written together.
pub async fn handle_events(uow: &mut UnitOfWork<'_>, events: &[Planned]) -> Result<(), WorkError> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = events.iter().map(|(e, _)| e.event_id.as_str()).collect();
    let mut unclaimed = uow.tx.claim_events(&ids, uow.now_ms).await?;
    // The same event twice in one batch: only its first occurrence is new.
    let new: Vec<bool> = events
        .iter()
        .map(|(e, _)| unclaimed.remove(e.event_id.as_str()))
        .collect();
    let mut accounts: Vec<(&str, &str)> = events
        .iter()
        .zip(&new)
        .filter(|((_, plan), new)| **new && plan.engagement.is_some())
        .map(|((e, _), _)| (e.app_id.as_str(), e.account_id.as_str()))
        .collect();
    let named = named_accounts(events, &new);
    accounts.extend(&named);
    accounts.sort_unstable();
    accounts.dedup();
    uow.tx.ensure_accounts(&accounts, uow.now_ms).await?;
    let mut states = RunAccounts::load(uow, &named).await?;

    let mut cache = PendingCache::default();
    let mut posts = RunPosts::default();
    for (index, ((event, plan), is_new)) in events.iter().zip(&new).enumerate() {
        if !is_new {
            uow.report.count(&event.object, &event.field, "duplicate");
            continue;
        }
        uow.report.count(&event.object, &event.field, "applied");
        uow.report.received_at_ms.push(event.received_at_ms);
        if let Some((trigger, target)) = &plan.trigger {
            if *trigger == Trigger::DataDeletionRequested {
                // Erasure must see every cached-metrics change before it.
                apply_cache(uow, &mut cache, events).await?;
            }
            apply_trigger(uow, &mut states, event, *trigger, target).await?;
        }
        if !posts.covers(index) {
            posts.write_from(uow, events, &new, index).await?;
        }
        if let Some(found) = &plan.engagement {
            let key = |media: &str| {
                (
                    AppId::from(&event.app_id),
                    AccountId::from(&event.account_id),
                    MediaId::from(media),
                )
            };
            if let (Some(media_id), Some(insights)) =
                (&found.record.media_id, &found.record.insights)
            {
                let values = serde_json::to_string(insights)
                    .map_err(|e| Rejection(format!("story insights cannot be serialized: {e}")))?;
                cache.fresh(key(media_id), values, found.record.occurred_at_ms);
            }
            for stale in &found.stale {
                let media_id = stale.media_id.as_deref().unwrap_or("");
                cache.stale(key(media_id), stale.scope, event.effective_time_ms(), index);
            }
            uow.outputs.push(
                ENGAGEMENT,
                &event.account_id,
                found.record.clone(),
                event.event_id.as_str(),
                "engagement",
            )?;
        }
        if let Some(status) = plan.post.as_ref().filter(|_| posts.changed(index)) {
            let mut record = status.clone();
            if record.status == PublishStatus::Published
                && posts.being_published(&event.app_id, &record.object_id)
            {
                if let Some(request_id) =
                    confirm_publication(uow, &event.app_id, &record.object_id).await?
                {
                    record.request_id = Some(request_id);
                    record.reason = Some("webhook".to_owned());
                }
            }
            let effect = format!("page_post:{}", status.object_id);
            uow.outputs.push(
                PUBLISH_STATUS,
                &event.account_id,
                record,
                event.event_id.as_str(),
                &effect,
            )?;
        }
    }
    apply_cache(uow, &mut cache, events).await?;
    states.save(uow).await
}

/// A Page post published by a publication: its `feed` webhook confirms it, and the
/// publication is published (its owner's next write finds the fence moved on).
/// Returns the publication's request id.
async fn confirm_publication(
    uow: &mut UnitOfWork<'_>,
    app_id: &str,
    post_id: &str,
) -> Result<Option<String>, WorkError> {
    for _ in 0..3 {
        let Some(mut publication) = uow
            .tx
            .publication_of_post(&AppId::from(app_id), post_id)
            .await?
        else {
            return Ok(None);
        };
        publication.state = PublishStatus::Published;
        publication.publish_sent = false;
        publication.done_at_ms = Some(uow.now_ms);
        if uow.tx.save_publication(&publication, 1, uow.now_ms).await? {
            return Ok(Some(publication.request_id.into()));
        }
    }
    Ok(None)
}

/// Applies an account trigger to its targets; a data-deletion request also erases
/// their data.
async fn apply_trigger(
    uow: &mut UnitOfWork<'_>,
    states: &mut RunAccounts,
    event: &InboundEvent,
    trigger: Trigger,
    target: &Target,
) -> Result<(), WorkError> {
    let app_id = AppId::from(&event.app_id);
    let accounts: Vec<AccountId> = match target {
        Target::Accounts(ids) => ids.iter().map(AccountId::from).collect(),
        Target::User(user) => uow.tx.accounts_of_user(&app_id, user).await?,
    };
    for account_id in &accounts {
        let change = AccountChange {
            app_id: &app_id,
            account_id,
            trigger,
            at_ms: event.effective_time_ms(),
            source_id: event.event_id.as_str(),
        };
        states.transition(uow, &change).await?;
    }
    if trigger == Trigger::DataDeletionRequested {
        // Erasure must see every transition before it, its own included.
        states.save(uow).await?;
        carry_out(&mut uow.tx, event, &accounts, uow.now_ms).await?;
        uow.report.data_deletions += 1;
    }
    Ok(())
}

/// Writes the pending cached-metrics changes and queues an invalidation record for
/// each entry that turned stale.
async fn apply_cache(
    uow: &mut UnitOfWork<'_>,
    cache: &mut PendingCache,
    events: &[Planned],
) -> Result<(), WorkError> {
    let flushed = cache.flush(&mut uow.tx).await?;
    uow.report.coalesced += flushed.coalesced.len() as u64;
    for invalidation in flushed.invalidations {
        let (event, _) = &events[invalidation.event];
        let (_, _, media_id) = &invalidation.key;
        let media = (invalidation.scope == MetricsScope::Media).then(|| media_id.to_string());
        let effect = format!(
            "{}:{}",
            invalidation.scope.as_str(),
            media.as_deref().unwrap_or("")
        );
        let record = MetricsInvalidationRecord {
            version: OUTPUT_VERSION,
            record_id: String::new(),
            source_event_id: event.event_id.to_string(),
            app_id: event.app_id.clone(),
            account_id: event.account_id.clone(),
            scope: invalidation.scope,
            media_id: media,
            cause: event.field.clone(),
            invalidated_at_ms: invalidation.at_ms,
        };
        uow.outputs.push(
            METRICS_INVALIDATIONS,
            &event.account_id,
            record,
            event.event_id.as_str(),
            &effect,
        )?;
        uow.report.invalidations += 1;
    }
    Ok(())
}

/// Checks what a Graph error report would store: its app and account ids.
pub fn check_report(report: &GraphErrorReport) -> Result<(), Rejection> {
    check_id("app id", &report.app_id)?;
    check_id("account id", &report.account_id)
}

/// Handles a Graph API error a client service reported (checked with
/// [`check_report`]). `source_id` identifies the report by its content: read again,
/// it changes nothing. A reconnect-class error flags the account.
pub async fn handle_graph_error(
    uow: &mut UnitOfWork<'_>,
    report: &GraphErrorReport,
    source_id: &str,
) -> Result<(), WorkError> {
    if !uow.tx.claim_event(source_id, uow.now_ms).await? {
        return Ok(());
    }
    let class = classify(
        report.http_status,
        report.code,
        report.subcode,
        report.is_transient,
    );
    *uow.report.graph_errors.entry(class.as_str()).or_default() += 1;
    let change = AccountChange {
        app_id: &AppId::from(&report.app_id),
        account_id: &AccountId::from(&report.account_id),
        trigger: Trigger::GraphError {
            http_status: report.http_status,
            code: report.code,
            subcode: report.subcode,
            is_transient: report.is_transient,
        },
        at_ms: report.time_ms,
        source_id,
    };
    transition_account(uow, &change).await?;
    Ok(())
}
