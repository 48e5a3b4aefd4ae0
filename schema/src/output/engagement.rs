//! `engagement.v1` and `metrics-invalidations.v1`: what happened to an account's
//! media and which cached metrics it made stale.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::OUTPUT_VERSION;

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
