//! The records the processor writes to its output topics. Every record carries its
//! own deterministic `record_id` (the same effect, replayed or resent after a crash,
//! keeps its id: consumers drop repeats by it) and the `source_event_id` of the
//! event, report or request that caused it (for tracing; one event can cause
//! several records).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::account::{AccountState, Reason, RequiredAction};
use crate::graph_error::ErrorClass;

/// Layout version of every output record; bumped on incompatible changes.
pub const OUTPUT_VERSION: u32 = 1;

/// An output record: it carries a `record_id` that the one place writing records
/// sets (see [`record_id`]).
pub trait OutputRecord: Serialize {
    /// Sets the record's `record_id`.
    fn set_record_id(&mut self, id: String);
}

macro_rules! output_record {
    ($($name:ty),*) => {$(
        impl OutputRecord for $name {
            fn set_record_id(&mut self, id: String) {
                self.record_id = id;
            }
        }
    )*};
}

output_record!(
    AccountTransitionRecord,
    EngagementRecord,
    MetricsInvalidationRecord,
    PublishStatusRecord,
    DeadLetterRecord
);

/// The deterministic id of the record an effect writes: topic suffix, the source
/// (event id, report or request id) and what tells the source's effects apart
/// (`effect`). 32 lowercase hex characters.
pub fn record_id(topic_suffix: &str, source_id: &str, effect: &str) -> String {
    let mut hasher = Sha256::new();
    for part in ["graphhook.record.v1", topic_suffix, source_id, effect] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

/// `accounts.v1`: one account state transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountTransitionRecord {
    /// [`OUTPUT_VERSION`].
    pub version: u32,
    /// This record's deterministic id: the same effect keeps it when written again.
    /// Drop repeats by it.
    #[serde(default)]
    pub record_id: String,
    /// The event that caused the transition.
    pub source_event_id: String,
    /// Meta's app id.
    pub app_id: String,
    /// The Instagram account (or Page) id.
    pub account_id: String,
    /// State before.
    pub from: AccountState,
    /// State after.
    pub to: AccountState,
    /// Why.
    pub reason: Reason,
    /// What must be done now.
    pub action: RequiredAction,
    /// Event time of the trigger, epoch milliseconds.
    pub occurred_at_ms: i64,
}

/// The kinds of engagement graphhook reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngagementKind {
    /// A comment (or reply) on media.
    Comment,
    /// A comment on a live video.
    LiveComment,
    /// The account was mentioned in a comment or caption.
    Mention,
    /// Story insights, sent after the story expired.
    StoryInsights,
    /// A reaction to a message, or its removal.
    Reaction,
    /// A message received (metadata only, never its text).
    Message,
    /// A message the account sent (echo; metadata only).
    MessageEcho,
}

/// `engagement.v1`: one engagement event, normalized. Message and comment text is
/// never copied here; it stays in `events.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EngagementRecord {
    /// [`OUTPUT_VERSION`].
    pub version: u32,
    /// This record's deterministic id: the same effect keeps it when written again.
    /// Drop repeats by it.
    #[serde(default)]
    pub record_id: String,
    /// The event this record was derived from.
    pub source_event_id: String,
    /// Meta's app id.
    pub app_id: String,
    /// The account the engagement belongs to.
    pub account_id: String,
    /// What happened.
    pub kind: EngagementKind,
    /// The media concerned, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// The comment, for comments, live comments and comment mentions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<String>,
    /// The parent comment, for replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The message, for messages and reactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Who engaged (app- or page-scoped id), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_id: Option<String>,
    /// For reactions: `react` or `unreact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// For reactions: the reaction (`love`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
    /// For story insights: the counts (Meta reports counts below 5 as -1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insights: Option<BTreeMap<String, i64>>,
    /// Event time, epoch milliseconds.
    pub occurred_at_ms: i64,
}

/// Which cached metrics an invalidation concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricsScope {
    /// The account's own metrics.
    Account,
    /// One media's metrics.
    Media,
}

impl MetricsScope {
    /// The scope as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricsScope::Account => "account",
            MetricsScope::Media => "media",
        }
    }
}

/// `metrics-invalidations.v1`: cached metrics became stale. Written only when an
/// entry goes from fresh to stale, so a burst of events yields one record until the
/// entry is refreshed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MetricsInvalidationRecord {
    /// [`OUTPUT_VERSION`].
    pub version: u32,
    /// This record's deterministic id: the same effect keeps it when written again.
    /// Drop repeats by it.
    #[serde(default)]
    pub record_id: String,
    /// The event that made the metrics stale.
    pub source_event_id: String,
    /// Meta's app id.
    pub app_id: String,
    /// The account.
    pub account_id: String,
    /// Account or media metrics.
    pub scope: MetricsScope,
    /// The media, for media scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// The event field that invalidated them (`comments`, `mentions`, ...).
    pub cause: String,
    /// Event time of the cause, epoch milliseconds.
    pub invalidated_at_ms: i64,
}

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

/// Why a publication failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PublicationError {
    /// `fix_request` (the input must change), `retried_out` (transient failures
    /// outlasted the retries), `unknown_outcome` (a publish whose outcome could not
    /// be learned: never sent twice), `reconnect`.
    pub class: String,
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
    /// (`reconciled`, `quota_full`, `account_not_active`, `budget_held`,
    /// `media_not_ready`, `new_container`, `webhook`, ...).
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

/// `graph-errors.v1` (input): a Graph API error a client service received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GraphErrorReport {
    /// Meta's app id.
    pub app_id: String,
    /// The account the call was made for.
    pub account_id: String,
    /// HTTP status; absent for timeouts and connection failures.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Error code.
    #[serde(default)]
    pub code: Option<i64>,
    /// Error subcode.
    #[serde(default)]
    pub subcode: Option<i64>,
    /// Meta's `is_transient`.
    #[serde(default)]
    pub is_transient: Option<bool>,
    /// Error message (not copied to outputs or logs at info).
    #[serde(default)]
    pub message: Option<String>,
    /// Meta's trace id.
    #[serde(default)]
    pub fbtrace_id: Option<String>,
    /// When the error happened, epoch milliseconds.
    pub time_ms: i64,
}

/// `dlq.v1`: a record that can never be processed, with the error and the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeadLetterRecord {
    /// [`OUTPUT_VERSION`].
    pub version: u32,
    /// This record's deterministic id: the same effect keeps it when written again.
    /// Drop repeats by it.
    #[serde(default)]
    pub record_id: String,
    /// The failed record's identity: its event id when it was an event, otherwise a
    /// hash of its topic, key and value. The same record failing again has it too.
    #[serde(default)]
    pub source_event_id: String,
    /// Where the record came from.
    pub source_topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Why it failed (no payload content).
    pub error: String,
    /// The error class, when the failure was a classified Graph API error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    /// When it was dead-lettered, epoch milliseconds.
    pub failed_at_ms: i64,
    /// The original key, as text (lossy for non-UTF-8 keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_key: Option<String>,
    /// The original value, base64 (standard alphabet, padded).
    pub original_value_base64: String,
    /// The original headers (values as text, lossy for non-UTF-8).
    pub original_headers: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_deterministic_and_tell_effects_apart() {
        let media = record_id("metrics-invalidations.v1", "e1", "media:m1");
        assert_eq!(
            media,
            record_id("metrics-invalidations.v1", "e1", "media:m1")
        );
        assert_ne!(
            media,
            record_id("metrics-invalidations.v1", "e1", "account:")
        );
        assert_ne!(
            media,
            record_id("metrics-invalidations.v1", "e2", "media:m1")
        );
        assert_eq!(media.len(), 32);
    }
}
