//! What the handlers share.

use tokio::time::Instant;
use url::Url;

use crate::apps::{App, AppRegistry};
use crate::metrics::IngestMetrics;
use crate::problems::IngestError;
use crate::publisher::Publisher;
use crate::records::{Endpoint, OutgoingRecord};
use graphhook_schema::labels::{field_label, object_label};
use graphhook_schema::InboundEvent;
use graphhook_web::{BodyBudget, BodyLimits, Readiness};

/// Shared handler state.
#[derive(Debug)]
pub struct IngestState {
    /// Configured apps.
    pub apps: AppRegistry,
    /// The Kafka publisher.
    pub publisher: Publisher,
    /// Metrics.
    pub metrics: IngestMetrics,
    /// Limits bodies are read under.
    pub body: BodyLimits,
    /// Bytes of bodies all requests together may hold.
    pub budget: BodyBudget,
    /// Base of data-deletion status URLs.
    pub public_base_url: Option<Url>,
    /// The cached readiness `/readyz` answers.
    pub readiness: Readiness,
}

impl IngestState {
    /// The app called `name`, recorded on the request's span.
    pub fn app(&self, name: &str) -> Result<&App, IngestError> {
        let app = self.apps.get(name).ok_or(IngestError::UnknownApp)?;
        let span = tracing::Span::current();
        span.record("app", app.name.as_str());
        span.record("app_id", app.app_id.as_str());
        Ok(app)
    }

    /// Publishes a request's records and records the outcome in metrics.
    pub async fn publish(
        &self,
        app: &App,
        endpoint: Endpoint,
        records: Vec<OutgoingRecord>,
        events: &[InboundEvent],
    ) -> Result<(), IngestError> {
        let started = Instant::now();
        let count = records.len();
        if let Err(error) = self.publisher.publish(records).await {
            self.metrics
                .produce_failures
                .with_label_values(&[error.reason()])
                .inc();
            let cause = std::error::Error::source(&error).map(ToString::to_string);
            if error.is_permanent() {
                tracing::error!(%error, ?cause, records = count, permanent = true, "Kafka refused a delivery permanently (check kafka.max_message_bytes and the topics' max.message.bytes); answering 503 so that Meta retries");
            } else {
                tracing::error!(%error, ?cause, records = count, permanent = false, "Kafka did not acknowledge a delivery; answering 503");
            }
            return Err(error.into());
        }
        self.metrics
            .produce_duration
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .deliveries
            .with_label_values(&[&app.name, endpoint.as_str()])
            .inc();
        for event in events {
            self.metrics
                .events
                .with_label_values(&[object_label(&event.object), field_label(&event.field)])
                .inc();
            tracing::debug!(event_id = %event.event_id, account_id = %event.account_id, object = %event.object, field = %event.field, "event stored");
        }
        Ok(())
    }
}
