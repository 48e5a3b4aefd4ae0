//! `publish-status.v1`: publications and Page posts as they move through their states.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::OUTPUT_VERSION;

/// Publish states: a publication's (requested, through Meta's processing of its
/// container, to published or one of its ends), and a Page post's as its `feed`
/// webhooks report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublishStatus {
    /// The request was accepted.
    Requested,
    /// Meta created the container.
    ContainerCreated,
    /// Meta is processing the container (`IN_PROGRESS`).
    Processing,
    /// The container is ready to publish (`FINISHED`).
    Ready,
    /// `media_publish` (or the Page post) was sent.
    Publishing,
    /// Published.
    Published,
    /// The publishing quota is used up; waiting for the rolling window to free a
    /// slot.
    QuotaWait,
    /// Paused: the account is not active, or the call budget holds it.
    Held,
    /// A publish whose answer was lost: its status is read before anything else.
    OutcomeUnknown,
    /// Failed for good (see `error`).
    Failed,
    /// The container was not published within 24 hours.
    Expired,
    /// A Page post was edited.
    Edited,
    /// A Page post was removed.
    Removed,
    /// A Page post was hidden.
    Hidden,
}

impl PublishStatus {
    /// The status as stored and written.
    pub fn as_str(self) -> &'static str {
        match self {
            PublishStatus::Requested => "requested",
            PublishStatus::ContainerCreated => "container_created",
            PublishStatus::Processing => "processing",
            PublishStatus::Ready => "ready",
            PublishStatus::Publishing => "publishing",
            PublishStatus::Published => "published",
            PublishStatus::QuotaWait => "quota_wait",
            PublishStatus::Held => "held",
            PublishStatus::OutcomeUnknown => "outcome_unknown",
            PublishStatus::Failed => "failed",
            PublishStatus::Expired => "expired",
            PublishStatus::Edited => "edited",
            PublishStatus::Removed => "removed",
            PublishStatus::Hidden => "hidden",
        }
    }

    /// Whether a publication in this status is done.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PublishStatus::Published | PublishStatus::Failed | PublishStatus::Expired
        )
    }

    /// Every publication status, in a fixed order (metrics).
    pub const PUBLICATION: [PublishStatus; 11] = [
        PublishStatus::Requested,
        PublishStatus::ContainerCreated,
        PublishStatus::Processing,
        PublishStatus::Ready,
        PublishStatus::Publishing,
        PublishStatus::Published,
        PublishStatus::QuotaWait,
        PublishStatus::Held,
        PublishStatus::OutcomeUnknown,
        PublishStatus::Failed,
        PublishStatus::Expired,
    ];
}

/// What a publish-status record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublishedObject {
    /// An Instagram media container (and the media it becomes).
    Container,
    /// A Facebook Page post.
    PagePost,
}

/// The class of a publication's failure, written as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The input must change.
    FixRequest,
    /// Transient failures outlasted the retries.
    RetriedOut,
    /// A publish whose outcome could not be learned: never sent twice.
    UnknownOutcome,
    /// The account must be reconnected.
    Reconnect,
}

impl FailureClass {
    /// The name as written on topics and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::FixRequest => "fix_request",
            FailureClass::RetriedOut => "retried_out",
            FailureClass::UnknownOutcome => "unknown_outcome",
            FailureClass::Reconnect => "reconnect",
        }
    }
}

/// Why a publication failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PublicationError {
    /// `fix_request` (the input must change), `retried_out` (transient failures
    /// outlasted the retries), `unknown_outcome` (a publish whose outcome could not
    /// be learned: never sent twice), `reconnect`.
    #[schemars(with = "String")]
    pub class: FailureClass,
    /// Meta's error code, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Meta's subcode, or the one in a container's `status` text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcode: Option<i64>,
    /// Meta's text (a container's `status`, an error's user title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `publish-status.v1`: a publication or a Page post changed status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PublishStatusRecord {
    /// [`OUTPUT_VERSION`].
    pub version: u32,
    /// This record's deterministic id: the same effect keeps it when written again.
    /// Drop repeats by it.
    #[serde(default)]
    pub record_id: String,
    /// The event (or poll result) that caused the change.
    pub source_event_id: String,
    /// Meta's app id.
    pub app_id: String,
    /// The account or Page.
    pub account_id: String,
    /// What the record is about: an Instagram `container` or a `page_post`.
    pub source: PublishedObject,
    /// The same as `source` (kept for consumers of the first records).
    pub object: PublishedObject,
    /// The container or post id; empty before Meta gave one.
    pub object_id: String,
    /// The new status.
    pub status: PublishStatus,
    /// The client's `request_id`, for records of publications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The published media's id, when it is known (a publish whose answer was lost
    /// and was found published by a status read leaves it unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// Why the status changed, when it says more than the status
    /// (`reconciled`, `quota_full`, `budget_held`, `media_not_ready`,
    /// `new_container`, `webhook`, ...; for `held` without a usable token:
    /// `token_missing`, `token_unreadable`, `tokens_not_configured`,
    /// `token_expired`, `token_refresh_failed`, `account_unknown`,
    /// `account_not_active`). A `held` publication whose cause changes gets
    /// another `held` record with the new reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For failures: the class, code, subcode and text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<PublicationError>,
    /// Containers created for the publication so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// For Page posts: the `feed` item (`status`, `photo`, `video`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Event time, epoch milliseconds.
    pub occurred_at_ms: i64,
}
