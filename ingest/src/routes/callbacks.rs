//! `POST /callbacks/{app}/deauthorize` and `POST /callbacks/{app}/data-deletion`.

use actix_web::{web, HttpRequest, HttpResponse};
use graphhook_schema::time::now_millis;
use graphhook_schema::{
    callback_event, confirmation_code, issued_at_seconds, CallbackKind, DeletionReceipt,
    DeliveryContext, SignedRequestError, SignedRequestPayload,
};
use tracing_actix_web::RequestId;
use url::Url;

use crate::body::{content_type, read_limited};
use crate::problems::IngestError;
use crate::records::{for_delivery, Endpoint};
use crate::signed_request::{verify_signed_request, CallbackError};
use crate::state::IngestState;

/// Receives a deauthorize or data-deletion callback: the route's `CallbackKind`
/// (resource data) says which. Answers the status URL and confirmation code for
/// data deletion, an empty 200 for deauthorize.
pub async fn receive(
    kind: web::Data<CallbackKind>,
    req: HttpRequest,
    app: web::Path<String>,
    payload: web::Payload,
    state: web::Data<IngestState>,
    request_id: RequestId,
) -> Result<HttpResponse, IngestError> {
    let kind = **kind;
    let app = state.app(&app)?;
    let endpoint = match kind {
        CallbackKind::Deauthorize => Endpoint::Deauthorize,
        CallbackKind::DataDeletion => Endpoint::DataDeletion,
    };
    let body = read_limited(&req, payload, &state).await?;
    let request = verify_signed_request(&app.verifier, &body).inspect_err(|error| {
        state
            .metrics
            .signature_failures
            .with_label_values(&[&app.name, error.reason()])
            .inc();
        tracing::debug!(
            reason = error.reason(),
            callback = kind.as_str(),
            "refused a callback"
        );
    })?;
    let subject = request
        .payload
        .subject()
        .ok_or(CallbackError::Malformed(SignedRequestError::NoSubject))?;
    let receipt = match kind {
        CallbackKind::Deauthorize => None,
        CallbackKind::DataDeletion => {
            let base = state.public_base_url.as_ref().ok_or_else(|| {
                tracing::warn!(
                    "data-deletion callback received but ingest.public_base_url is not set"
                );
                IngestError::DataDeletionNotConfigured
            })?;
            Some(deletion_receipt(
                base,
                app.deletion_code_key(),
                &app.app_id,
                subject,
                &request.payload,
            ))
        }
    };
    let delivery_id = request_id.to_string();
    let ctx = DeliveryContext {
        app: &app.name,
        app_id: &app.app_id,
        delivery_id: &delivery_id,
        received_at_ms: now_millis(),
    };
    let events =
        [callback_event(&ctx, kind, &request, receipt.as_ref()).map_err(CallbackError::from)?];
    let records = for_delivery(&ctx, endpoint, true, content_type(&req), &body, &events);
    state.publish(app, endpoint, records, &events).await?;
    tracing::info!(callback = kind.as_str(), account_id = %events[0].account_id, "callback stored");
    Ok(match receipt {
        Some(receipt) => HttpResponse::Ok().json(receipt),
        None => HttpResponse::Ok().finish(),
    })
}

/// What a data-deletion answer tells Meta: the code (keyed with `key`, the app's
/// first secret) and its status URL.
pub fn deletion_receipt(
    base: &Url,
    key: &[u8],
    app_id: &str,
    subject: &str,
    payload: &SignedRequestPayload,
) -> DeletionReceipt {
    let code = confirmation_code(key, app_id, subject, issued_at_seconds(payload));
    DeletionReceipt {
        url: status_url(base, &code),
        confirmation_code: code,
    }
}

/// `<base>/data-deletion/<code>`, whether or not the base ends in `/`.
fn status_url(base: &Url, code: &str) -> String {
    format!(
        "{}/data-deletion/{code}",
        base.as_str().trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_url_joins_with_and_without_trailing_slash() {
        let a = Url::parse("https://hooks.example.com/gh/").unwrap();
        let b = Url::parse("https://hooks.example.com/gh").unwrap();
        assert_eq!(
            status_url(&a, "abc"),
            "https://hooks.example.com/gh/data-deletion/abc"
        );
        assert_eq!(
            status_url(&b, "abc"),
            "https://hooks.example.com/gh/data-deletion/abc"
        );
    }
}
