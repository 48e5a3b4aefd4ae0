//! Carries out a data-deletion callback: the user's accounts are revoked (by the
//! state machine, before this runs), what graphhook stores about them is erased, and
//! the request is recorded under the confirmation code ingest gave Meta.

use graphhook_schema::{confirmation_code, InboundEvent};
use serde::Deserialize;

use crate::store::{DeletionStatus, StoreError, StoreTx};

#[derive(Deserialize)]
struct CallbackValue {
    #[serde(default)]
    signed_request: Option<SignedPayload>,
    #[serde(default)]
    data_deletion: Option<Receipt>,
}

#[derive(Deserialize)]
struct SignedPayload {
    #[serde(default)]
    issued_at: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Receipt {
    confirmation_code: String,
}

/// The confirmation code of a data-deletion event: the one ingest answered Meta
/// with, or (for an event without it) the same deterministic derivation.
pub fn code_of(event: &InboundEvent) -> String {
    let value: Option<CallbackValue> = serde_json::from_str(event.value.get()).ok();
    if let Some(code) = value
        .as_ref()
        .and_then(|v| v.data_deletion.as_ref())
        .map(|r| r.confirmation_code.clone())
    {
        return code;
    }
    let issued_at = value
        .and_then(|v| v.signed_request)
        .and_then(|p| p.issued_at)
        .and_then(|t| t.as_i64());
    confirmation_code(&event.app_id, &event.account_id, issued_at)
}

/// Erases the data of `accounts` (the user's) and records the request as completed.
pub async fn carry_out(
    tx: &mut StoreTx,
    event: &InboundEvent,
    accounts: &[String],
    now_ms: i64,
) -> Result<DeletionStatus, StoreError> {
    tx.erase_accounts(&event.app_id, accounts, event.event_id.as_str(), now_ms)
        .await?;
    let status = DeletionStatus {
        confirmation_code: code_of(event),
        status: "completed".to_owned(),
        accounts: i64::try_from(accounts.len()).unwrap_or(i64::MAX),
        requested_at_ms: event.effective_time_ms(),
        completed_at_ms: Some(now_ms),
    };
    tx.record_deletion(&event.app_id, &status).await?;
    tracing::info!(
        app_id = %event.app_id,
        accounts = accounts.len(),
        "data-deletion request carried out"
    );
    Ok(status)
}
