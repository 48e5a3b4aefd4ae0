//! `GET /webhooks/{app}` (subscription handshake) and `POST /webhooks/{app}`
//! (deliveries).

use actix_web::{web, HttpRequest, HttpResponse};
use graphhook_schema::time::now_millis;
use graphhook_schema::{normalize_delivery, DeliveryContext};
use serde::{Deserialize, Serialize};
use tracing_actix_web::RequestId;

use crate::body::{content_type, read_limited};
use crate::problems::IngestError;
use crate::records::{for_delivery, Endpoint};
use crate::state::IngestState;

/// The longest challenge echoed back.
const MAX_CHALLENGE_LEN: usize = 256;

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Answers the subscription handshake: 200 with the challenge when the mode is
/// `subscribe` and the verify token matches, 403 otherwise.
pub async fn handshake(
    req: HttpRequest,
    app: web::Path<String>,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, IngestError> {
    let app = state.app(&app)?;
    let query: Handshake = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| IngestError::HandshakeRefused)?;
    let challenge = query
        .challenge
        .filter(|c| {
            !c.is_empty() && c.len() <= MAX_CHALLENGE_LEN && !c.chars().any(char::is_control)
        })
        .ok_or(IngestError::HandshakeRefused)?;
    let token_ok = query
        .verify_token
        .is_some_and(|t| app.verify_token_matches(&t));
    if query.mode.as_deref() != Some("subscribe") || !token_ok {
        tracing::debug!("refused a subscription handshake");
        return Err(IngestError::HandshakeRefused);
    }
    tracing::info!("answered a subscription handshake");
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(challenge))
}

/// What a stored delivery is answered with.
#[derive(Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// The request id: `graphhook-request-id` of the records.
    pub delivery_id: String,
    /// How many events the delivery normalized into.
    pub events: usize,
}

/// Verifies a delivery, stores it and its events in Kafka, and answers 200 only once
/// Kafka has acknowledged every record.
pub async fn receive(
    req: HttpRequest,
    app: web::Path<String>,
    payload: web::Payload,
    state: web::Data<IngestState>,
    request_id: RequestId,
) -> Result<HttpResponse, IngestError> {
    let app = state.app(&app)?;
    let body = read_limited(&req, payload, &state).await?;
    if let Err(error) = app.verifier.verify(req.headers(), &body) {
        state
            .metrics
            .signature_failures
            .with_label_values(&[&app.name, error.reason()])
            .inc();
        tracing::debug!(reason = error.reason(), "refused a delivery signature");
        return Err(error.into());
    }
    state.metrics.body_bytes.observe(body.len() as f64);
    let delivery_id = request_id.to_string();
    let ctx = DeliveryContext {
        app: &app.name,
        app_id: &app.app_id,
        delivery_id: &delivery_id,
        received_at_ms: now_millis(),
    };
    let (events, parsed) = match normalize_delivery(&ctx, &body) {
        Ok(events) => (events, true),
        Err(error) => {
            state
                .metrics
                .unparseable
                .with_label_values(&[&app.name, error.reason()])
                .inc();
            tracing::warn!(error = %error, "verified delivery is not a Meta envelope; keeping it in the deliveries topic");
            (Vec::new(), false)
        }
    };
    let records = for_delivery(
        &ctx,
        Endpoint::Webhook,
        parsed,
        content_type(&req),
        &body,
        &events,
    );
    state
        .publish(app, Endpoint::Webhook, records, &events)
        .await?;
    Ok(HttpResponse::Ok().json(Accepted {
        delivery_id,
        events: events.len(),
    }))
}
