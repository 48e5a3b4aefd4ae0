//! The processor's Prometheus metrics, served on its `/metrics`.
//!
//! Counters are incremented only after a batch's effects are committed and its
//! outputs acknowledged, so a retried batch is counted once.

use prometheus::{
    exponential_buckets, register_gauge_vec_with_registry, register_histogram_vec_with_registry,
    register_histogram_with_registry, register_int_counter_vec_with_registry,
    register_int_counter_with_registry, register_int_gauge_vec_with_registry,
    register_int_gauge_with_registry, GaugeVec, Histogram, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Registry,
};

/// Every metric the processor records.
#[derive(Clone)]
pub struct ProcessorMetrics {
    /// The registry `/metrics` encodes.
    pub registry: Registry,
    /// `graphhook_processor_events_total{object,field,outcome}`; outcome is
    /// `applied`, `duplicate` or `dead_lettered`.
    pub events: IntCounterVec,
    /// `graphhook_processor_batch_records`: records per applied batch.
    pub batch_records: Histogram,
    /// `graphhook_processor_batch_duration_seconds`: from the first attempt to
    /// outputs acknowledged, retries included.
    pub batch_duration: Histogram,
    /// `graphhook_processor_webhook_to_commit_seconds`: from ingest's receipt of the
    /// delivery to the event's effects committed and outputs acknowledged.
    pub webhook_to_commit: Histogram,
    /// `graphhook_processor_consumer_lag{topic,partition}`: records behind the high
    /// watermark, from the consumer's committed offset (librdkafka statistics).
    pub consumer_lag: IntGaugeVec,
    /// `graphhook_processor_committed_offset{topic,partition}`.
    pub committed_offset: IntGaugeVec,
    /// `graphhook_processor_high_watermark{topic,partition}`: the broker's log end.
    pub high_watermark: IntGaugeVec,
    /// `graphhook_processor_committed_beyond_log_end{topic,partition}`: how far the
    /// committed offset lies past the log end (should be 0).
    pub committed_beyond_log_end: IntGaugeVec,
    /// `graphhook_processor_offset_gaps_total{topic,partition}`: offsets the
    /// broker skipped after an assignment, a seek or a record (records in the log
    /// not served; should be 0). Each gap is re-read.
    pub offset_gaps: IntCounterVec,
    /// `graphhook_processor_offset_gap_rereads_total{topic,outcome}`: gaps
    /// re-read, `healed` (every skipped record read and applied) or `given_up`
    /// (the broker answered past the gap however far back it was read: those
    /// records must be replayed).
    pub offset_gap_rereads: IntCounterVec,
    /// `graphhook_processor_dead_letters_total{source_topic,cause}`; cause is
    /// `rejected`, `unparseable`, `refused_by_database`, `repeated` (recognised,
    /// not written again) or `unstorable` (skipped).
    pub dead_letters: IntCounterVec,
    /// `graphhook_processor_account_transitions_total{to,reason}`.
    pub transitions: IntCounterVec,
    /// `graphhook_processor_invalidations_total{outcome}`; `written` (fresh -> stale,
    /// one record) or `coalesced` (already stale, no record).
    pub invalidations: IntCounterVec,
    /// `graphhook_processor_graph_errors_total{class}`: reported Graph API errors.
    pub graph_errors: IntCounterVec,
    /// `graphhook_processor_outputs_total{topic}`: output records acknowledged.
    pub outputs: IntCounterVec,
    /// `graphhook_processor_outputs_parked_total{topic}`: output records Kafka
    /// refused for good, kept in `outbox_parked`.
    pub outputs_parked: IntCounterVec,
    /// `graphhook_processor_retries_total{cause}`: failed batch attempts.
    pub retries: IntCounterVec,
    /// `graphhook_processor_data_deletions_total`: deletion requests carried out.
    pub data_deletions: IntCounter,
    /// `graphhook_processor_ready`: 1 when processing, 0 while retrying.
    pub ready: IntGauge,
    /// `graphhook_processor_pruned_event_ids_total`: ids forgotten after the retention.
    pub pruned: IntCounter,
    /// `graphhook_processor_http_requests_total{route,method,status}`: requests to
    /// the processor's HTTP server (route patterns, never raw paths).
    pub http_requests: IntCounterVec,
    /// `graphhook_graph_calls_total{endpoint,class}`: Graph API calls made, by
    /// outcome (`ok` or the error class).
    pub graph_calls: IntCounterVec,
    /// `graphhook_graph_call_duration_seconds{endpoint}`.
    pub graph_call_duration: HistogramVec,
    /// `graphhook_graph_calls_refused_total{endpoint,reason}`: calls not made
    /// because the budget held (`held`) or spaced (`spaced`) them.
    pub graph_refused: IntCounterVec,
    /// `graphhook_graph_usage_ratio{app_id,type}`: the latest usage share Meta
    /// reported (`app` for `X-App-Usage`, the use case for business usage).
    pub graph_usage: GaugeVec,
    /// `graphhook_graph_bookkeeping_failures_total{endpoint}`: calls made whose
    /// usage could not be recorded (their result still stands).
    pub graph_bookkeeping_failures: IntCounterVec,
    /// `graphhook_graph_accounts_held`: accounts nothing is called for now.
    pub graph_accounts_held: IntGauge,
    /// `graphhook_token_refreshes_total{kind,outcome}`: what the token jobs did.
    pub token_outcomes: IntCounterVec,
    /// `graphhook_publications{state}`: publications by state.
    pub publications: IntGaugeVec,
    /// `graphhook_publication_graph_calls`: Graph API calls a publication cost, when
    /// it ended.
    pub publication_calls: Histogram,
    /// `graphhook_publication_ready_latency_seconds`: from the last status read that
    /// found a container not ready to the record saying it is ready (an upper bound
    /// of the time from Meta's `FINISHED` to the record).
    pub publication_ready_latency: Histogram,
    /// `graphhook_publication_quota_waits_total`: publications that waited for
    /// quota.
    pub publication_quota_waits: IntCounter,
    /// `graphhook_publication_holds_total{reason}`: publications held, by why
    /// (`token_unreadable`, `token_missing`, `budget_held`, ...).
    pub publication_holds: IntCounterVec,
    /// `graphhook_publication_unknown_outcomes_total{resolution}`: unknown
    /// publish outcomes reconciled by a status read, by what it found.
    pub publication_unknown_outcomes: IntCounterVec,
}

impl std::fmt::Debug for ProcessorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProcessorMetrics")
    }
}

/// Latency buckets from 1 ms to 60 s, fine around the 10 ms to 1 s where
/// processing latency lives (so percentiles interpolated from them are close).
fn latency_buckets() -> prometheus::Result<Vec<f64>> {
    Ok(vec![
        0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08,
        0.09, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
        10.0, 30.0, 60.0,
    ])
}

impl ProcessorMetrics {
    /// Creates and registers every metric in a fresh registry.
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new();
        Ok(ProcessorMetrics {
            events: register_int_counter_vec_with_registry!(
                "graphhook_processor_events_total",
                "Records consumed by the processor, by object, field and outcome.",
                &["object", "field", "outcome"],
                r
            )?,
            batch_records: register_histogram_with_registry!(
                "graphhook_processor_batch_records",
                "Records per applied batch.",
                exponential_buckets(1.0, 2.0, 14)?,
                r
            )?,
            batch_duration: register_histogram_with_registry!(
                "graphhook_processor_batch_duration_seconds",
                "Time to apply a batch and have its outputs acknowledged, retries included.",
                latency_buckets()?,
                r
            )?,
            webhook_to_commit: register_histogram_with_registry!(
                "graphhook_processor_webhook_to_commit_seconds",
                "From ingest's receipt of a delivery to its effects committed and outputs acknowledged.",
                latency_buckets()?,
                r
            )?,
            consumer_lag: register_int_gauge_vec_with_registry!(
                "graphhook_processor_consumer_lag",
                "Records between the committed offset and the high watermark.",
                &["topic", "partition"],
                r
            )?,
            committed_offset: register_int_gauge_vec_with_registry!(
                "graphhook_processor_committed_offset",
                "The consumer group's committed offset, by topic and partition.",
                &["topic", "partition"],
                r
            )?,
            high_watermark: register_int_gauge_vec_with_registry!(
                "graphhook_processor_high_watermark",
                "The broker's log end (high watermark), by topic and partition.",
                &["topic", "partition"],
                r
            )?,
            committed_beyond_log_end: register_int_gauge_vec_with_registry!(
                "graphhook_processor_committed_beyond_log_end",
                "How far the committed offset lies past the broker's log end (should be 0).",
                &["topic", "partition"],
                r
            )?,
            offset_gaps: register_int_counter_vec_with_registry!(
                "graphhook_processor_offset_gaps_total",
                "Offsets the broker skipped after an assignment, a seek or a record: records in the log not served (should be 0).",
                &["topic", "partition"],
                r
            )?,
            offset_gap_rereads: register_int_counter_vec_with_registry!(
                "graphhook_processor_offset_gap_rereads_total",
                "Gaps re-read, by outcome: healed, or given_up (the skipped records must be replayed).",
                &["topic", "outcome"],
                r
            )?,
            dead_letters: register_int_counter_vec_with_registry!(
                "graphhook_processor_dead_letters_total",
                "Records dead-lettered, by source topic and cause.",
                &["source_topic", "cause"],
                r
            )?,
            transitions: register_int_counter_vec_with_registry!(
                "graphhook_processor_account_transitions_total",
                "Account state transitions, by new state and reason.",
                &["to", "reason"],
                r
            )?,
            invalidations: register_int_counter_vec_with_registry!(
                "graphhook_processor_invalidations_total",
                "Cached-metrics invalidations: written (fresh to stale) or coalesced.",
                &["outcome"],
                r
            )?,
            graph_errors: register_int_counter_vec_with_registry!(
                "graphhook_processor_graph_errors_total",
                "Graph API errors reported by client services, by class.",
                &["class"],
                r
            )?,
            outputs: register_int_counter_vec_with_registry!(
                "graphhook_processor_outputs_total",
                "Output records acknowledged by Kafka, by topic.",
                &["topic"],
                r
            )?,
            outputs_parked: register_int_counter_vec_with_registry!(
                "graphhook_processor_outputs_parked_total",
                "Output records Kafka refused for good, parked in outbox_parked, by topic.",
                &["topic"],
                r
            )?,
            retries: register_int_counter_vec_with_registry!(
                "graphhook_processor_retries_total",
                "Failed batch attempts (retried with backoff), by cause.",
                &["cause"],
                r
            )?,
            data_deletions: register_int_counter_with_registry!(
                "graphhook_processor_data_deletions_total",
                "Data-deletion requests carried out.",
                r
            )?,
            ready: register_int_gauge_with_registry!(
                "graphhook_processor_ready",
                "1 while the processor is processing, 0 while it retries a failure.",
                r
            )?,
            pruned: register_int_counter_with_registry!(
                "graphhook_processor_pruned_event_ids_total",
                "Processed event ids forgotten after processor.processed_events_retention_hours.",
                r
            )?,
            http_requests: register_int_counter_vec_with_registry!(
                "graphhook_processor_http_requests_total",
                "Requests to the processor's HTTP server, by route pattern, method and status.",
                &["route", "method", "status"],
                r
            )?,
            graph_calls: register_int_counter_vec_with_registry!(
                "graphhook_graph_calls_total",
                "Graph API calls made, by endpoint and outcome (ok or the error class).",
                &["endpoint", "class"],
                r
            )?,
            graph_call_duration: register_histogram_vec_with_registry!(
                "graphhook_graph_call_duration_seconds",
                "Graph API call latency, by endpoint.",
                &["endpoint"],
                latency_buckets()?,
                r
            )?,
            graph_refused: register_int_counter_vec_with_registry!(
                "graphhook_graph_calls_refused_total",
                "Graph API calls not made because the call budget held or spaced them.",
                &["endpoint", "reason"],
                r
            )?,
            graph_usage: register_gauge_vec_with_registry!(
                "graphhook_graph_usage_ratio",
                "The latest usage share Meta reported, by app and type (1 = allowance used up).",
                &["app_id", "type"],
                r
            )?,
            graph_bookkeeping_failures: register_int_counter_vec_with_registry!(
                "graphhook_graph_bookkeeping_failures_total",
                "Graph API calls made whose usage could not be recorded in the store; their result stands.",
                &["endpoint"],
                r
            )?,
            graph_accounts_held: register_int_gauge_with_registry!(
                "graphhook_graph_accounts_held",
                "Accounts (business objects) nothing is called for now, after a throttle.",
                r
            )?,
            token_outcomes: register_int_counter_vec_with_registry!(
                "graphhook_token_refreshes_total",
                "What the token jobs did, by token kind and outcome.",
                &["kind", "outcome"],
                r
            )?,
            publications: register_int_gauge_vec_with_registry!(
                "graphhook_publications",
                "Publications by state.",
                &["state"],
                r
            )?,
            publication_calls: register_histogram_with_registry!(
                "graphhook_publication_graph_calls",
                "Graph API calls a publication cost, observed when it ended.",
                vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0, 200.0],
                r
            )?,
            publication_ready_latency: register_histogram_with_registry!(
                "graphhook_publication_ready_latency_seconds",
                "From the last read finding a container not ready to the record saying it is ready.",
                vec![1.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0],
                r
            )?,
            publication_quota_waits: register_int_counter_with_registry!(
                "graphhook_publication_quota_waits_total",
                "Publications that found the publishing quota used up.",
                r
            )?,
            publication_holds: register_int_counter_vec_with_registry!(
                "graphhook_publication_holds_total",
                "Publications held (or held for a new reason), by reason.",
                &["reason"],
                r
            )?,
            publication_unknown_outcomes: register_int_counter_vec_with_registry!(
                "graphhook_publication_unknown_outcomes_total",
                "Unknown publish outcomes reconciled by a status read, by what the read found.",
                &["resolution"],
                r
            )?,
            registry: r,
        })
    }
}
