//! Carries out a data-deletion callback: the user's accounts are revoked (by the
//! state machine, before this runs), what graphhook stores about them is erased, and
//! the request is recorded under the confirmation code ingest gave Meta (carried in
//! the event, so the processor never needs the secret that keys the codes).

use graphhook_schema::InboundEvent;
use serde::Deserialize;

use crate::domain::ids::{AccountId, AppId};
use crate::store::{DeletionStatus, StoreError, StoreTx};

#[derive(Deserialize)]
struct CallbackValue {
    #[serde(default)]
    data_deletion: Option<Receipt>,
}

#[derive(Deserialize)]
struct Receipt {
    confirmation_code: String,
}

/// The confirmation code ingest answered Meta with, from the event.
pub fn code_of(event: &InboundEvent) -> Option<String> {
    event
        .value_as::<CallbackValue>()
        .ok()?
        .data_deletion
        .map(|receipt| receipt.confirmation_code)
}

/// Erases the data of `accounts` (the user's) and records the request as completed
/// under its confirmation code. An event without a code (not written by ingest) is
/// carried out all the same; there is just no status page for it.
pub async fn carry_out(
    tx: &mut StoreTx,
    event: &InboundEvent,
    accounts: &[AccountId],
    now_ms: i64,
) -> Result<(), StoreError> {
    tx.erase_accounts(
        &AppId::from(&event.app_id),
        accounts,
        event.event_id.as_str(),
        now_ms,
    )
    .await?;
    match code_of(event) {
        Some(confirmation_code) => {
            let status = DeletionStatus {
                confirmation_code,
                status: "completed".to_owned(),
                accounts: i64::try_from(accounts.len()).unwrap_or(i64::MAX),
                requested_at_ms: event.effective_time_ms(),
                completed_at_ms: Some(now_ms),
            };
            tx.record_deletion(&AppId::from(&event.app_id), &status)
                .await?;
        }
        None => tracing::warn!(
            event_id = %event.event_id,
            "data-deletion event without a confirmation code; carried out without a status page"
        ),
    }
    tracing::info!(
        app_id = %event.app_id,
        accounts = accounts.len(),
        "data-deletion request carried out"
    );
    Ok(())
}
