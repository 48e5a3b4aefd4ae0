//! Ingest's Prometheus metrics, registered in the registry `/metrics` serves.

use graphhook_kafka::SendError;
use graphhook_schema::normalize::NormalizeError;
use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, Opts, Registry,
};

use crate::records::Endpoint;
use crate::signature::SignatureError;
use crate::telemetry::public_route_label;

/// Every metric ingest records.
#[derive(Clone)]
pub struct IngestMetrics {
    /// The registry `/metrics` encodes.
    pub registry: Registry,
    /// `graphhook_http_requests_total{route,method,status}`.
    pub http_requests: IntCounterVec,
    /// `graphhook_http_request_duration_seconds{route}`.
    pub http_duration: HistogramVec,
    /// `graphhook_http_requests_in_flight`.
    pub in_flight: IntGauge,
    /// `graphhook_signature_failures_total{app,reason}`.
    pub signature_failures: IntCounterVec,
    /// `graphhook_deliveries_total{app,endpoint}`: deliveries acknowledged by Kafka.
    pub deliveries: IntCounterVec,
    /// `graphhook_unparseable_deliveries_total{app,reason}`: verified deliveries that
    /// did not normalize (kept in the deliveries topic).
    pub unparseable: IntCounterVec,
    /// `graphhook_events_total{object,field}`: events acknowledged by Kafka.
    pub events: IntCounterVec,
    /// `graphhook_kafka_produce_duration_seconds`: from first send to last ack of a request.
    pub produce_duration: Histogram,
    /// `graphhook_kafka_produce_failures_total{reason}`.
    pub produce_failures: IntCounterVec,
    /// `graphhook_kafka_producers_replaced_total`: broken producers replaced.
    pub producers_replaced: IntCounter,
    /// `graphhook_request_body_bytes`.
    pub body_bytes: Histogram,
    /// `graphhook_request_body_bytes_in_flight`: bytes of bodies held now (the
    /// budget is `ingest.max_bytes_in_flight`).
    pub body_bytes_in_flight: IntGauge,
    /// `graphhook_ingest_ready`: what `/readyz` answers, 1 or 0.
    pub ready: IntGauge,
}

impl std::fmt::Debug for IngestMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IngestMetrics")
    }
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let g = IntGauge::new(name, help)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

fn counter(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    buckets: Vec<f64>,
) -> prometheus::Result<Histogram> {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))?;
    registry.register(Box::new(h.clone()))?;
    Ok(h)
}

/// Latency buckets from 0.5 ms to about 16 s.
fn latency_buckets() -> prometheus::Result<Vec<f64>> {
    exponential_buckets(0.0005, 2.0, 16)
}

impl IngestMetrics {
    /// Creates and registers every metric in a fresh registry.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "graphhook_http_request_duration_seconds",
                "HTTP request latency by route.",
            )
            .buckets(latency_buckets()?),
            &["route"],
        )?;
        registry.register(Box::new(http_duration.clone()))?;
        let in_flight = gauge(
            &registry,
            "graphhook_http_requests_in_flight",
            "HTTP requests being served.",
        )?;
        let producers_replaced = IntCounter::new(
            "graphhook_kafka_producers_replaced_total",
            "Kafka producers replaced after they failed fatally or were fenced.",
        )?;
        registry.register(Box::new(producers_replaced.clone()))?;
        Ok(IngestMetrics {
            http_requests: counter(
                &registry,
                "graphhook_http_requests_total",
                "HTTP requests by route, method and status.",
                &["route", "method", "status"],
            )?,
            http_duration,
            in_flight,
            signature_failures: counter(
                &registry,
                "graphhook_signature_failures_total",
                "Refused signatures by app and reason.",
                &["app", "reason"],
            )?,
            deliveries: counter(
                &registry,
                "graphhook_deliveries_total",
                "Verified deliveries acknowledged by Kafka, by app and endpoint.",
                &["app", "endpoint"],
            )?,
            unparseable: counter(
                &registry,
                "graphhook_unparseable_deliveries_total",
                "Verified deliveries that are not Meta envelopes (kept in the deliveries topic).",
                &["app", "reason"],
            )?,
            events: counter(
                &registry,
                "graphhook_events_total",
                "Events acknowledged by Kafka, by object and field.",
                &["object", "field"],
            )?,
            produce_duration: histogram(
                &registry,
                "graphhook_kafka_produce_duration_seconds",
                "Time from a request's first send to its last Kafka acknowledgement.",
                latency_buckets()?,
            )?,
            produce_failures: counter(
                &registry,
                "graphhook_kafka_produce_failures_total",
                "Requests whose records Kafka did not acknowledge, by reason.",
                &["reason"],
            )?,
            producers_replaced,
            body_bytes: histogram(
                &registry,
                "graphhook_request_body_bytes",
                "Size of verified request bodies.",
                exponential_buckets(256.0, 4.0, 10)?,
            )?,
            body_bytes_in_flight: gauge(
                &registry,
                "graphhook_request_body_bytes_in_flight",
                "Bytes of request bodies held now, out of ingest.max_bytes_in_flight.",
            )?,
            ready: gauge(
                &registry,
                "graphhook_ingest_ready",
                "1 when /readyz answers ready, else 0.",
            )?,
            registry,
        })
    }

    /// Creates the series alerts watch at 0, so that `increase()` sees the first
    /// incident: produce failures by reason, webhook answers 200 and 503, and per
    /// app signature failures, unparseable deliveries and deliveries by endpoint.
    pub fn start_at_zero<'a>(&self, apps: impl IntoIterator<Item = &'a str>) {
        for status in ["200", "503"] {
            self.http_requests.with_label_values(&[
                public_route_label("/webhooks/app"),
                "POST",
                status,
            ]);
        }
        for reason in SendError::REASONS {
            self.produce_failures.with_label_values(&[reason]);
        }
        for app in apps {
            for reason in SignatureError::REASONS {
                self.signature_failures.with_label_values(&[app, reason]);
            }
            for reason in NormalizeError::REASONS {
                self.unparseable.with_label_values(&[app, reason]);
            }
            for endpoint in Endpoint::ALL {
                self.deliveries.with_label_values(&[app, endpoint.as_str()]);
            }
        }
    }
}
