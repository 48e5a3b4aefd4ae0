//! Requests become publications, from `publish-requests.v1` or the admin API, in
//! the caller's unit of work. The same `request_id` twice is one publication; a
//! repeat that asks to publish what was created with `publish: false` is the
//! second call that publishes it; the same `request_id` with a different request
//! is a conflict (`409` on the admin API, dead-lettered from the topic), as
//! idempotency keys are elsewhere.

use graphhook_schema::output::{
    PublicationError, PublishStatus, PublishStatusRecord, PublishedObject, OUTPUT_VERSION,
};
use graphhook_schema::publishing::{PublicationKind, PublishRequest};
use graphhook_schema::topics::PUBLISH_STATUS;

use crate::domain::content::Rejection;
use crate::domain::publication::Publication;
use crate::unit_of_work::{UnitOfWork, WorkError};

/// What accepting a request did.
#[derive(Debug, Clone, PartialEq)]
pub enum Intake {
    /// A new publication.
    Created(Publication),
    /// The request was seen before: its publication, unchanged.
    Existing(Publication),
    /// The request was seen before with `publish: false`; it is now to publish.
    PublishRequested(Publication),
    /// The `request_id` was used before for a different request: nothing
    /// changed; the fields that differ.
    Conflict(Publication, Vec<&'static str>),
}

impl Intake {
    /// The publication.
    pub fn publication(&self) -> &Publication {
        match self {
            Intake::Created(p)
            | Intake::Existing(p)
            | Intake::PublishRequested(p)
            | Intake::Conflict(p, _) => p,
        }
    }
}

/// A status change of a publication, to write as a `publish-status.v1` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The new status.
    pub status: PublishStatus,
    /// Why, when it says more.
    pub reason: Option<&'static str>,
}

/// Queues the `publish-status.v1` record of `p` entering `change`; `source_id`
/// names what caused it (and, with the status, tells its record id).
pub fn queue_status(
    uow: &mut UnitOfWork<'_>,
    p: &Publication,
    change: &Change,
    source_id: &str,
) -> Result<(), Rejection> {
    let object = if p.kind == PublicationKind::PagePost {
        PublishedObject::PagePost
    } else {
        PublishedObject::Container
    };
    let object_id = match object {
        PublishedObject::PagePost => p.post_id.clone(),
        PublishedObject::Container => p.container_id.clone().map(String::from),
    };
    let error: Option<PublicationError> = (change.status == PublishStatus::Failed)
        .then(|| p.error.clone())
        .flatten();
    let record = PublishStatusRecord {
        version: OUTPUT_VERSION,
        record_id: String::new(),
        source_event_id: source_id.to_owned(),
        app_id: p.app_id.to_string(),
        account_id: p.account_id.to_string(),
        source: object,
        object,
        object_id: object_id.unwrap_or_default(),
        status: change.status,
        request_id: Some(p.request_id.to_string()),
        media_id: p.media_id.clone().map(String::from),
        reason: change.reason.map(str::to_owned),
        error,
        attempt: u32::try_from(p.attempts).ok().filter(|a| *a > 0),
        item: None,
        occurred_at_ms: uow.now_ms,
    };
    let effect = format!("publication:{}:{}", p.request_id, change.status.as_str());
    uow.outputs
        .push(PUBLISH_STATUS, &p.account_id, record, source_id, &effect)
}

/// Accepts `request` (checked first); `source_id` names the record or API call
/// it came from.
pub async fn accept(
    uow: &mut UnitOfWork<'_>,
    request: PublishRequest,
    source_id: &str,
) -> Result<Intake, WorkError> {
    request.validate().map_err(Rejection)?;
    let asks_to_publish = request.publish;
    let publication = Publication::requested(request, uow.now_ms);
    if uow.tx.insert_publication(&publication, uow.now_ms).await? {
        let change = Change {
            status: PublishStatus::Requested,
            reason: publication
                .request
                .container_id
                .as_ref()
                .map(|_| "tracking"),
        };
        queue_status(uow, &publication, &change, source_id)?;
        uow.report.count("publish_request", "request", "applied");
        return Ok(Intake::Created(publication));
    }
    let mut existing = uow
        .tx
        .publication(
            &publication.app_id,
            &publication.account_id,
            &publication.request_id,
        )
        .await?
        .ok_or_else(|| Rejection("the publication vanished".into()))?;
    let differences = existing.request.differences(&publication.request);
    if !differences.is_empty() {
        uow.report.count("publish_request", "request", "conflict");
        return Ok(Intake::Conflict(existing, differences));
    }
    if asks_to_publish && !existing.publish && !existing.state.is_final() {
        existing.publish = true;
        existing.next_action_at_ms = uow.now_ms;
        if uow.tx.save_publication(&existing, 1, uow.now_ms).await? {
            existing.fence += 1;
            return Ok(Intake::PublishRequested(existing));
        }
    }
    uow.report.count("publish_request", "request", "duplicate");
    Ok(Intake::Existing(existing))
}
