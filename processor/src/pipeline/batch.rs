//! Applies a batch of consumed records: each event's effects, its id and its output
//! records commit together. One bad record never stops a partition:
//!
//! - a record that cannot be read, or whose content is rejected before any SQL
//!   runs, is dead-lettered in the batch's own transaction;
//! - when the database refuses something the batch asked it to store (see
//!   [`crate::store::Disposition`]), the batch is split in halves, each applied in
//!   a transaction of its own, down to the one record it refuses, which is
//!   dead-lettered alone while the records around it are applied;
//! - any other failure is transient: the error is returned and the batch is
//!   retried from the first record not yet committed ([`BatchProgress::next`]).

use std::ops::Range;

use graphhook_kafka::Topics;
use graphhook_schema::publishing::PublishRequest;
use rdkafka::message::{Message, OwnedMessage};

use super::dead_letter::{dead_letter, Cause};
use super::handler::{check_report, handle_events, handle_graph_error, Planned};
use super::records::{content_id, read, Consumed};
use crate::domain::plan::plan;
use crate::gateway::AppSecrets;
use crate::publishing::intake::{accept, Intake};
use crate::report::WorkReport;
use crate::store::{OutboxClaim, OutboxRow, Store, StoreError};
use crate::unit_of_work::{Committed, UnitOfWork, WorkError};

/// How far a batch got: the records before `next` are committed.
#[derive(Debug, Default)]
pub struct BatchProgress {
    /// The first record not yet committed.
    pub next: usize,
    /// What the committed part did.
    pub report: WorkReport,
    /// The outbox rows the committed part wrote.
    pub outbox_ids: Vec<i64>,
    /// With a claim, the batch's outputs are written claimed by it (where no
    /// earlier row of their key is pending) for the consumer to send itself.
    pub claim: Option<OutboxClaim>,
    /// Those of `outbox_ids` written claimed.
    pub claimed: Vec<OutboxRow>,
    /// The configured apps: a publish request for another app is dead-lettered,
    /// never held forever (`None`: not checked).
    pub known_apps: Option<AppSecrets>,
}

/// Applies `batch[progress.next..]`, splitting it where the database refuses a
/// record; returns only transient failures.
pub async fn apply_batch(
    store: &Store,
    topics: &Topics,
    batch: &[OwnedMessage],
    progress: &mut BatchProgress,
    now_ms: i64,
) -> Result<(), StoreError> {
    progress.report.records = batch.len();
    // A stack of ranges still to apply, the next one on top.
    let mut pending: Vec<Range<usize>> = Vec::with_capacity(8);
    pending.push(progress.next..batch.len());
    while let Some(range) = pending.pop() {
        if range.is_empty() {
            continue;
        }
        let claim = progress.claim.as_ref();
        let apps = progress.known_apps.as_ref();
        let records = &batch[range.clone()];
        let error = match apply_range(store, topics, records, now_ms, (claim, apps)).await {
            Ok(committed) => {
                absorb(progress, committed);
                progress.next = range.end;
                continue;
            }
            Err(error) => error,
        };
        let Some(reason) = error.refusal() else {
            return Err(transient(error));
        };
        if range.len() > 1 {
            let middle = range.start + range.len() / 2;
            pending.push(middle..range.end);
            pending.push(range.start..middle);
            continue;
        }
        let message = &batch[range.start];
        refused_alone(store, topics, message, reason, now_ms, progress).await?;
        progress.next = range.end;
    }
    Ok(())
}

fn absorb(progress: &mut BatchProgress, committed: Committed) {
    let records = progress.report.records;
    progress.report.merge(committed.report);
    progress.report.records = records;
    progress.outbox_ids.extend(committed.outbox_ids);
    progress.claimed.extend(committed.claimed);
}

fn transient(error: WorkError) -> StoreError {
    match error {
        WorkError::Store(error) => error,
        WorkError::Rejected(rejection) => StoreError::Corrupt(rejection.0),
    }
}

/// Applies `records` in one unit of work and commits it.
#[tracing::instrument(name = "unit_of_work", skip_all, fields(
    records = records.len(),
    partition = records.first().map(|m| m.partition()),
    first_offset = records.first().map(|m| m.offset()),
    last_offset = records.last().map(|m| m.offset()),
))]
async fn apply_range(
    store: &Store,
    topics: &Topics,
    records: &[OwnedMessage],
    now_ms: i64,
    (claim, apps): (Option<&OutboxClaim>, Option<&AppSecrets>),
) -> Result<Committed, WorkError> {
    let mut uow = UnitOfWork::begin(store, topics, now_ms).await?;
    // Consecutive events are handled together; anything else in between ends the
    // run, so outputs keep their order.
    let mut run: Vec<Planned> = Vec::new();
    for message in records {
        match read(message, topics) {
            Consumed::Event(event) => match plan(&event) {
                Ok(planned) => run.push((event, planned)),
                Err(rejection) => {
                    handle_run(&mut uow, &mut run).await?;
                    let source = event.event_id.to_string();
                    dead_letter(&mut uow, message, &source, rejection.0, Cause::Rejected).await?;
                }
            },
            Consumed::GraphError(report) => {
                handle_run(&mut uow, &mut run).await?;
                let source = content_id(message);
                match check_report(&report) {
                    Ok(()) => handle_graph_error(&mut uow, &report, &source).await?,
                    Err(rejection) => {
                        dead_letter(&mut uow, message, &source, rejection.0, Cause::Rejected)
                            .await?
                    }
                }
            }
            Consumed::PublishRequest(request) => {
                handle_run(&mut uow, &mut run).await?;
                let source = content_id(message);
                match checked_request(message, &request, apps) {
                    Ok(()) => {
                        if let Intake::Conflict(_, fields) =
                            accept(&mut uow, *request, &source).await?
                        {
                            let reason = format!(
                                "request_id was used for a different request (differs in {})",
                                fields.join(", ")
                            );
                            dead_letter(&mut uow, message, &source, reason, Cause::Rejected).await?
                        }
                    }
                    Err(reason) => {
                        dead_letter(&mut uow, message, &source, reason, Cause::Rejected).await?
                    }
                }
            }
            Consumed::Unreadable(reason) => {
                handle_run(&mut uow, &mut run).await?;
                let source = content_id(message);
                dead_letter(&mut uow, message, &source, reason, Cause::Unparseable).await?;
            }
        }
    }
    handle_run(&mut uow, &mut run).await?;
    Ok(uow.commit_claimed(claim).await?)
}

/// A publish request from the topic: valid, keyed by its account (the topic is
/// keyed by account id, so a record under another key would publish for an
/// account its producer did not mean), and for a configured app.
fn checked_request(
    message: &OwnedMessage,
    request: &PublishRequest,
    apps: Option<&AppSecrets>,
) -> Result<(), String> {
    request.validate()?;
    if message.key() != Some(request.account_id.as_bytes()) {
        return Err(
            "the record's key is not its account_id (publish-requests.v1 is keyed by account id)"
                .to_owned(),
        );
    }
    if apps.is_some_and(|apps| !apps.knows(&request.app_id)) {
        return Err("app_id names no app configured under [apps]".to_owned());
    }
    Ok(())
}

async fn handle_run(uow: &mut UnitOfWork<'_>, run: &mut Vec<Planned>) -> Result<(), WorkError> {
    handle_events(uow, run).await?;
    run.clear();
    Ok(())
}

/// Dead-letters the one record the database refused, in a transaction of its own.
/// If even that is refused, the record is skipped with an error (it stays in its
/// topic): nothing else would let the partition move on.
#[tracing::instrument(name = "unit_of_work", skip_all, fields(
    partition = message.partition(),
    offset = message.offset(),
))]
async fn refused_alone(
    store: &Store,
    topics: &Topics,
    message: &OwnedMessage,
    reason: String,
    now_ms: i64,
    progress: &mut BatchProgress,
) -> Result<(), StoreError> {
    let source = match read(message, topics) {
        Consumed::Event(event) => event.event_id.to_string(),
        _ => content_id(message),
    };
    let mut uow = UnitOfWork::begin(store, topics, now_ms).await?;
    let written =
        match dead_letter(&mut uow, message, &source, reason, Cause::RefusedByDatabase).await {
            Ok(()) => uow.commit().await.map_err(WorkError::from),
            Err(error) => Err(error),
        };
    match written {
        Ok(committed) => {
            absorb(progress, committed);
            Ok(())
        }
        Err(error) => match error.refusal() {
            Some(why) => {
                use rdkafka::Message;
                tracing::error!(topic = message.topic(), partition = message.partition(), offset = message.offset(), reason = %why, "the database refuses even the dead letter of this record; skipping it (it stays in its topic)");
                progress.report.dead_lettered(message.topic(), "unstorable");
                Ok(())
            }
            None => Err(transient(error)),
        },
    }
}
