//! Re-drives `deliveries.v1` into `events.v1`. Deliveries were verified when they
//! were received (only verified deliveries are stored), so signatures are not
//! checked again: a rotated secret does not make history unreplayable.

use graphhook_kafka::{KafkaSettings, Topics};
use graphhook_schema::topics::{headers, DELIVERIES};
use graphhook_schema::{
    callback_event, normalize_delivery, CallbackKind, DeliveryContext, InboundEvent, SignedRequest,
};
use rdkafka::message::OwnedMessage;
use rdkafka::Message;
use url::Url;

use super::reader::TimeRange;
use super::{redrive, ReplayError, ReplayReport};
use crate::apps::AppRegistry;
use crate::records::{event_record, header_value as header};
use crate::routes::callbacks::deletion_receipt;

/// What to re-drive.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryFilter<'a> {
    /// Deliveries received in this range.
    pub range: TimeRange,
    /// Only this app's (its name in the configuration), if given.
    pub app: Option<&'a str>,
    /// Base of data-deletion status URLs (`ingest.public_base_url`).
    pub public_base_url: Option<&'a Url>,
    /// The configured apps: their first secret keys data-deletion codes.
    pub apps: &'a AppRegistry,
}

/// Reads the deliveries in the filter's range and writes their events again.
pub async fn replay_deliveries(
    kafka: &KafkaSettings,
    bootstrap: &str,
    filter: DeliveryFilter<'_>,
) -> Result<ReplayReport, ReplayError> {
    let events_topic = Topics::new(&kafka.topic_prefix).events();
    redrive(
        kafka,
        bootstrap,
        DELIVERIES,
        filter.range,
        |message, sender, report| match events_of(message, &filter) {
            Ok(events) => {
                for event in &events {
                    match event_record(event) {
                        Ok(record) => {
                            sender.send(&events_topic, record.key, record.payload, record.headers);
                            report.wrote(&events_topic);
                        }
                        Err(_) => report.skip("event not serializable"),
                    }
                }
            }
            Err(reason) => report.skip(reason),
        },
    )
    .await
}

/// The events of one stored delivery, or why it is skipped.
fn events_of(
    message: &OwnedMessage,
    filter: &DeliveryFilter<'_>,
) -> Result<Vec<InboundEvent>, &'static str> {
    let app = header(message, headers::APP).ok_or("no app header")?;
    if filter.app.is_some_and(|wanted| wanted != app) {
        return Err("another app");
    }
    let app_id = header(message, headers::APP_ID).ok_or("no app id header")?;
    let delivery_id = header(message, headers::REQUEST_ID).unwrap_or_default();
    let received_at_ms = header(message, headers::RECEIVED_AT)
        .and_then(|v| v.parse().ok())
        .or_else(|| message.timestamp().to_millis())
        .unwrap_or_default();
    let ctx = DeliveryContext {
        app,
        app_id,
        delivery_id,
        received_at_ms,
    };
    let body = message.payload().unwrap_or_default();
    let kind = match header(message, headers::ENDPOINT) {
        Some("webhook") | None => {
            return normalize_delivery(&ctx, body).map_err(|_| "still not a Meta envelope")
        }
        Some("deauthorize") => CallbackKind::Deauthorize,
        Some("data_deletion") => CallbackKind::DataDeletion,
        Some(_) => return Err("unknown endpoint"),
    };
    let request = SignedRequest::from_form(body).map_err(|_| "unreadable signed_request")?;
    let subject = request
        .payload
        .subject()
        .ok_or("signed_request without user")?;
    let receipt = match kind {
        CallbackKind::Deauthorize => None,
        CallbackKind::DataDeletion => {
            let base = filter
                .public_base_url
                .ok_or("data deletion needs ingest.public_base_url")?;
            let key = filter
                .apps
                .get(app)
                .ok_or("data deletion of an app no longer configured")?
                .deletion_code_key();
            Some(deletion_receipt(
                base,
                key,
                app_id,
                subject,
                &request.payload,
            ))
        }
    };
    callback_event(&ctx, kind, &request, receipt.as_ref())
        .map(|event| vec![event])
        .map_err(|_| "unreadable signed_request")
}
