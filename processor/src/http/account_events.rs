//! `POST /v1/apps/{app_id}/accounts/{account_id}/events`: what a client service
//! tells graphhook about an account (the user reconnected; a token refresh started
//! or finished). The state machine decides; a transition is recorded and written to
//! `accounts.v1` like any other.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use tracing::Instrument;
use tracing_actix_web::RequestId;

use super::admin::{checked_ids, AccountView, Admin};
use super::json::JsonBody;
use super::problems::ApiError;
use super::ProcessorState;
use crate::apply::transitions::{transition_account, AccountChange};
use crate::domain::account::{Transition, Trigger};
use crate::store::AccountRow;
use crate::unit_of_work::UnitOfWork;

/// What happened to the account.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountEvent {
    /// The user connected the account again (new token, permissions granted).
    Reconnected,
    /// A token refresh started.
    RefreshStarted,
    /// A token refresh finished successfully.
    RefreshCompleted,
}

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    event: AccountEvent,
    /// When it happened, epoch milliseconds; now when absent.
    at_ms: Option<i64>,
}

/// Applies the event; answers the account and the transition (`null` when the
/// event changes nothing, e.g. `reconnected` on an active account).
pub async fn post_account_event(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<(String, String)>,
    body: JsonBody<EventBody>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let (app_id, account_id) = checked_ids(path.into_inner())?;
    let trigger = match body.event {
        AccountEvent::Reconnected => Trigger::Reconnected,
        AccountEvent::RefreshStarted => Trigger::RefreshStarted,
        AccountEvent::RefreshCompleted => Trigger::RefreshCompleted,
    };
    let now = state.services.clock.now_ms();
    let source = format!("admin/{request_id}");
    let change = AccountChange {
        app_id: &app_id,
        account_id: &account_id,
        trigger,
        at_ms: body.at_ms.unwrap_or(now),
        source_id: &source,
    };
    let span = tracing::info_span!("unit_of_work", %app_id, %account_id, %source);
    let (transition, account) = apply(&state, &change, now).instrument(span).await?;
    if let Some(transition) = &transition {
        tracing::info!(%app_id, %account_id, to = transition.to.as_str(), "account changed through the admin API");
    }
    Ok(HttpResponse::Ok().json(json!({
        "account": AccountView::from(account),
        "transition": transition.map(|t| json!({
            "from": t.from, "to": t.to, "reason": t.reason, "action": t.action, "occurred_at_ms": t.at_ms,
        })),
    })))
}

/// Applies an operator's account change in one unit of work; answers the
/// transition and the account after it.
async fn apply(
    state: &ProcessorState,
    change: &AccountChange<'_>,
    now: i64,
) -> Result<(Option<Transition>, AccountRow), ApiError> {
    let mut uow = UnitOfWork::begin(&state.services.store, &state.services.topics, now).await?;
    let transition = transition_account(&mut uow, change).await?;
    let account = uow
        .tx
        .account(change.app_id, change.account_id)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    // The relay task sends the record; the request does not wait for Kafka.
    uow.commit_and_wake(&state.services.metrics).await?;
    Ok((transition, account))
}
