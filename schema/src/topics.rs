//! Topic and record-header names. The topic prefix is configurable; the suffixes are
//! the versioned contract with consumers.

/// Every verified POST, body byte-for-byte (key: app id).
pub const DELIVERIES: &str = "deliveries.v1";
/// One normalized record per change or messaging item (key: account id).
pub const EVENTS: &str = "events.v1";
/// Container and Page post status transitions (key: account id).
pub const PUBLISH_STATUS: &str = "publish-status.v1";
/// Comments, mentions, story insights, reactions, message metadata (key: account id).
pub const ENGAGEMENT: &str = "engagement.v1";
/// Account state transitions (key: account id).
pub const ACCOUNTS: &str = "accounts.v1";
/// Cached metrics that became stale (key: account id).
pub const METRICS_INVALIDATIONS: &str = "metrics-invalidations.v1";
/// Graph API errors reported by client services (key: account id).
pub const GRAPH_ERRORS: &str = "graph-errors.v1";
/// Requests to publish or track, from client services (key: account id).
pub const PUBLISH_REQUESTS: &str = "publish-requests.v1";
/// Records that failed permanently (key: the original key).
pub const DLQ: &str = "dlq.v1";

/// The topics the processor writes its output records to.
pub const OUTPUT_TOPICS: [&str; 5] = [
    PUBLISH_STATUS,
    ENGAGEMENT,
    ACCOUNTS,
    METRICS_INVALIDATIONS,
    DLQ,
];

/// The topics ingest writes to.
pub const INGEST_TOPICS: [&str; 2] = [DELIVERIES, EVENTS];

/// The topics the processor writes to or reads besides `events.v1`.
pub const PROCESSOR_TOPICS: [&str; 7] = [
    PUBLISH_STATUS,
    ENGAGEMENT,
    ACCOUNTS,
    METRICS_INVALIDATIONS,
    GRAPH_ERRORS,
    PUBLISH_REQUESTS,
    DLQ,
];

/// Header names carried by graphhook's records.
pub mod headers {
    /// The request id of the HTTP request that carried the delivery.
    pub const REQUEST_ID: &str = "graphhook-request-id";
    /// The configured app name (the `{app}` of the route).
    pub const APP: &str = "graphhook-app";
    /// Meta's numeric app id.
    pub const APP_ID: &str = "graphhook-app-id";
    /// When ingest received the request, epoch milliseconds, decimal text.
    pub const RECEIVED_AT: &str = "graphhook-received-at";
    /// Which endpoint received a delivery: `webhook`, `deauthorize`, `data_deletion`.
    pub const ENDPOINT: &str = "graphhook-endpoint";
    /// `ok` when the delivery normalized into events, `failed` otherwise.
    pub const PARSE: &str = "graphhook-parse";
    /// The request's content type, as received.
    pub const CONTENT_TYPE: &str = "content-type";
    /// The event id of an `events.v1` record; on output records, the id of the
    /// event (report, request) that caused them.
    pub const EVENT_ID: &str = "graphhook-event-id";
    /// The `record_id` of an output record.
    pub const RECORD_ID: &str = "graphhook-record-id";
    /// The envelope `object` of an event.
    pub const OBJECT: &str = "graphhook-object";
    /// The change field or messaging kind of an event.
    pub const FIELD: &str = "graphhook-field";
}

/// Joins a prefix and a topic suffix.
pub fn topic_name(prefix: &str, suffix: &str) -> String {
    format!("{prefix}{suffix}")
}
