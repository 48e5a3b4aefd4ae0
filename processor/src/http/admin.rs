//! The admin API under `/v1`, behind the configured bearer token: register or update
//! accounts, read one with its recent transitions, list accounts by state, read and
//! refresh cached metrics.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use graphhook_schema::account::{AccountState, Reason};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::json::JsonBody;
use super::problems::ApiError;
use super::ProcessorState;
use crate::domain::content::check_id;
use crate::domain::ids::{AccountId, AppId};
use crate::store::{AccountRow, MetricsEntry, MetricsKey, Registration};
use graphhook_schema::publishing::meta_id_ok;

/// Transitions shown with an account.
const RECENT_TRANSITIONS: i64 = 20;
/// Largest page of a listing.
const MAX_PAGE: i64 = 1_000;

/// Proof that the request carried the admin bearer token.
pub struct Admin;

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(authorize(req))
    }
}

/// Checks the bearer token (RFC 6750: the scheme is case-insensitive, spaces
/// around the token are not part of it, one `Authorization` header only), then
/// that the path's app is configured.
fn authorize(req: &HttpRequest) -> Result<Admin, ApiError> {
    let state = req
        .app_data::<web::Data<ProcessorState>>()
        .ok_or(ApiError::RouteNotFound)?;
    if state.admin_tokens.is_empty() {
        return Err(ApiError::RouteNotFound);
    }
    let mut headers = req.headers().get_all(header::AUTHORIZATION);
    let value = headers.next().ok_or(ApiError::Unauthorized)?;
    if headers.next().is_some() {
        return Err(ApiError::BadRequest(
            "more than one Authorization header".into(),
        ));
    }
    let given = bearer_token(value.as_bytes()).ok_or(ApiError::Unauthorized)?;
    let matched = state.admin_tokens.iter().fold(false, |any, expected| {
        any | tokens_match(expected.expose_secret().trim(), given)
    });
    if !matched {
        return Err(ApiError::Unauthorized);
    }
    if let Some(app_id) = req.match_info().get("app_id") {
        if !state.services.apps.knows(app_id) {
            return Err(ApiError::NotFound("app (not configured under [apps])"));
        }
    }
    Ok(Admin)
}

/// The token of a `Bearer` credential, without surrounding spaces.
fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares SHA-256 digests in constant time, so that neither the token's content
/// nor its length leaks through timing.
fn tokens_match(expected: &str, given: &str) -> bool {
    let expected = Sha256::digest(expected.as_bytes());
    let given = Sha256::digest(given.as_bytes());
    expected.ct_eq(&given).into()
}

/// The app and account ids of a path, refused (400) when they cannot be stored.
pub(super) fn checked_ids(
    (app_id, account_id): (String, String),
) -> Result<(AppId, AccountId), ApiError> {
    for (what, id) in [("app id", &app_id), ("account id", &account_id)] {
        if !meta_id_ok(id) {
            return Err(ApiError::BadRequest(format!(
                "{what} must be a Meta id (1 to 64 letters, digits, '_' and '-')"
            )));
        }
    }
    Ok((app_id.into(), account_id.into()))
}

/// The page size of a listing: `limit`, 100 by default, at most [`MAX_PAGE`].
pub(super) fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    Ok(limit)
}

/// The media id of a metrics path (`""` for the account's own), its ids checked.
/// The entry's app, account and media (empty for the account's own metrics).
fn checked_metrics_path(path: &MetricsPath) -> Result<MetricsKey, ApiError> {
    let (app_id, account_id) = checked_ids((path.app_id.clone(), path.account_id.clone()))?;
    let media_id = path.media_id.as_deref().unwrap_or("");
    if !media_id.is_empty() && !meta_id_ok(media_id) {
        return Err(ApiError::BadRequest("media id must be a Meta id".into()));
    }
    Ok((app_id, account_id, media_id.into()))
}

/// An account as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct AccountView {
    app_id: String,
    account_id: String,
    tenant: Option<String>,
    page_id: Option<String>,
    user_id: Option<String>,
    state: AccountState,
    reason: Option<Reason>,
    state_changed_at_ms: Option<i64>,
}

impl From<AccountRow> for AccountView {
    fn from(row: AccountRow) -> Self {
        AccountView {
            app_id: row.app_id.into(),
            account_id: row.account_id.into(),
            tenant: row.tenant,
            page_id: row.page_id,
            user_id: row.user_id,
            state: row.snapshot.state,
            reason: row.snapshot.reason,
            state_changed_at_ms: (row.snapshot.changed_at_ms != i64::MIN)
                .then_some(row.snapshot.changed_at_ms),
        }
    }
}

/// `PUT /v1/apps/{app_id}/accounts/{account_id}`: registers or updates an account.
pub async fn put_account(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<(String, String)>,
    body: JsonBody<Registration>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, account_id) = checked_ids(path.into_inner())?;
    for (what, value) in [
        ("tenant", &body.tenant),
        ("page id", &body.page_id),
        ("user id", &body.user_id),
    ] {
        if let Some(value) = value {
            check_id(what, value).map_err(|r| ApiError::BadRequest(r.0))?;
        }
    }
    let mut tx = state.services.store.begin().await?;
    let row = tx
        .register(&app_id, &account_id, &body, state.services.clock.now_ms())
        .await?;
    tx.commit().await?;
    tracing::info!(%app_id, %account_id, "account registered");
    Ok(HttpResponse::Ok().json(AccountView::from(row)))
}

/// `GET /v1/apps/{app_id}/accounts/{account_id}`: the account and its recent
/// transitions, newest first.
pub async fn get_account(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, account_id) = checked_ids(path.into_inner())?;
    let (row, transitions) = state
        .services
        .store
        .account_with_transitions(&app_id, &account_id, RECENT_TRANSITIONS)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    Ok(HttpResponse::Ok().json(json!({
        "account": AccountView::from(row),
        "transitions": transitions,
    })))
}

/// Query of a listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<AccountState>,
    #[serde(default)]
    after: String,
    limit: Option<i64>,
}

/// `GET /v1/apps/{app_id}/accounts?state=...&after=...&limit=...`: the app's
/// accounts (in `state`, when given), by account id; `next_after` continues the
/// listing.
pub async fn list_accounts(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_limit(query.limit)?;
    if !query.after.is_empty() && !meta_id_ok(&query.after) {
        return Err(ApiError::BadRequest(
            "after must be an account id from next_after".into(),
        ));
    }
    let rows = state
        .services
        .store
        .accounts(
            &AppId::from(path.into_inner()),
            query.state,
            &query.after,
            limit,
        )
        .await?;
    let next_after = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.account_id.clone()))
        .flatten();
    let accounts: Vec<AccountView> = rows.into_iter().map(AccountView::from).collect();
    Ok(HttpResponse::Ok().json(json!({ "accounts": accounts, "next_after": next_after })))
}

/// `GET /v1/apps/{app_id}/accounts/{account_id}/metrics` (the account's) and
/// `.../media/{media_id}/metrics`: cached values with their freshness.
pub async fn get_metrics(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<MetricsPath>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(metrics_entry(&state, &path).await?))
}

async fn metrics_entry(
    state: &ProcessorState,
    path: &MetricsPath,
) -> Result<MetricsEntry, ApiError> {
    let (app_id, account_id, media_id) = checked_metrics_path(path)?;
    state
        .services
        .store
        .metrics_entry(&app_id, &account_id, &media_id)
        .await?
        .ok_or(ApiError::NotFound("cached metrics entry"))
}

/// Freshly fetched values a client service stores.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreshValues {
    values: serde_json::Map<String, serde_json::Value>,
    fetched_at_ms: Option<i64>,
}

/// `PUT .../metrics`: stores freshly fetched values; the entry is fresh until the
/// next event invalidates it.
pub async fn put_metrics(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<MetricsPath>,
    body: JsonBody<FreshValues>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, account_id, media_id) = checked_metrics_path(&path)?;
    let values =
        serde_json::to_string(&body.values).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let now = state.services.clock.now_ms();
    let mut tx = state.services.store.begin().await?;
    tx.ensure_account(&app_id, &account_id, now).await?;
    tx.write_fresh(
        &app_id,
        &account_id,
        &media_id,
        &values,
        body.fetched_at_ms.unwrap_or(now),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(metrics_entry(&state, &path).await?))
}

/// Path of a metrics entry.
#[derive(Debug, Deserialize)]
pub struct MetricsPath {
    app_id: String,
    account_id: String,
    media_id: Option<String>,
}
