//! `PUT` / `GET /v1/apps/{app_id}/accounts/{account_id}/token`: register a token
//! (checked with Meta, stored encrypted) and read its metadata. A token is never
//! in an answer.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::admin::{checked_ids, Admin};
use super::json::JsonBody;
use super::problems::ApiError;
use super::ProcessorState;
use crate::tokens::registration::TokenRegistration;

/// Registers a token; answers its metadata and the account's transition.
pub async fn put_token(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<(String, String)>,
    body: JsonBody<TokenRegistration>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, account_id) = checked_ids(path.into_inner())?;
    let (record, transition) = state
        .tokens
        .register(&app_id, &account_id, body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "token": record,
        "transition": transition.map(|t| json!({
            "from": t.from, "to": t.to, "reason": t.reason, "action": t.action, "occurred_at_ms": t.at_ms,
        })),
    })))
}

/// The account's tokens' metadata.
pub async fn get_token(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, account_id) = checked_ids(path.into_inner())?;
    let tokens = state.tokens.tokens_of(&app_id, &account_id).await?;
    if tokens.is_empty() {
        return Err(ApiError::NotFound("token"));
    }
    Ok(HttpResponse::Ok().json(json!({ "tokens": tokens })))
}
