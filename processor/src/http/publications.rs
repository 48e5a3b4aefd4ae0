//! The publishing admin API: `POST /v1/apps/{app}/accounts/{id}/publications`
//! (a request, as on `publish-requests.v1`), `GET .../publications/{request_id}`,
//! `GET .../publications?state=&after=&limit=`, and
//! `POST .../publications/{request_id}/publish` (the second call of a request made
//! with `"publish": false`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use graphhook_schema::output::{PublicationError, PublishStatus};
use graphhook_schema::publishing::{PublicationKind, PublishRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing_actix_web::RequestId;

use super::admin::{checked_ids, page_limit, Admin};
use super::json::JsonBody;
use super::problems::ApiError;
use super::ProcessorState;
use crate::domain::publication::Publication;
use crate::publishing::intake::{accept, Intake};
use crate::tokens::TokenKind;
use crate::unit_of_work::UnitOfWork;

/// A publication as the API shows it.
#[derive(Debug, Serialize)]
pub struct PublicationView {
    request_id: String,
    kind: PublicationKind,
    state: PublishStatus,
    reason: Option<String>,
    publish: bool,
    container_id: Option<String>,
    children: Vec<Option<String>>,
    media_id: Option<String>,
    post_id: Option<String>,
    error: Option<PublicationError>,
    attempts: i64,
    graph_calls: i64,
    created_at_ms: i64,
    ready_at_ms: Option<i64>,
    done_at_ms: Option<i64>,
    next_action_at_ms: Option<i64>,
    not_before_ms: Option<i64>,
}

impl From<Publication> for PublicationView {
    fn from(p: Publication) -> Self {
        PublicationView {
            next_action_at_ms: (!p.state.is_final()).then_some(p.next_action_at_ms),
            not_before_ms: p.request.not_before_ms,
            request_id: p.request_id.into(),
            kind: p.kind,
            state: p.state,
            reason: p.reason,
            publish: p.publish,
            container_id: p.container_id.map(String::from),
            children: p
                .children
                .into_iter()
                .map(|c| c.id.map(String::from))
                .collect(),
            media_id: p.media_id.map(String::from),
            post_id: p.post_id,
            error: p.error,
            attempts: p.attempts,
            graph_calls: p.calls,
            created_at_ms: p.created_at_ms,
            ready_at_ms: p.ready_at_ms,
            done_at_ms: p.done_at_ms,
        }
    }
}

#[tracing::instrument(name = "unit_of_work", skip_all, fields(
    app_id = %request.app_id,
    account_id = %request.account_id,
    request_id = %request.request_id,
))]
async fn take(
    state: &ProcessorState,
    request: PublishRequest,
    source: &str,
) -> Result<Intake, ApiError> {
    let now = state.services.clock.now_ms();
    let mut uow = UnitOfWork::begin(&state.services.store, &state.services.topics, now).await?;
    let intake = accept(&mut uow, request, source).await?;
    uow.commit_and_wake(&state.services.metrics).await?;
    Ok(intake)
}

/// The answer: `201` with the publication just created, `200` with one seen
/// before; a conflict is a `409` naming the fields that differ.
fn answer(intake: Intake) -> Result<(StatusCode, serde_json::Value), ApiError> {
    let created = match &intake {
        Intake::Conflict(_, fields) => {
            return Err(ApiError::Conflict(format!(
                "request_id was used for a different request; it differs in: {}",
                fields.join(", ")
            )))
        }
        Intake::Created(_) => true,
        Intake::Existing(_) | Intake::PublishRequested(_) => false,
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let view = PublicationView::from(intake.publication().clone());
    Ok((status, json!({"publication": view, "created": created})))
}

/// Accepts a request; `201` when it is new, `200` when its `request_id` was seen
/// before (the publication as it is).
pub async fn post_publication(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<(String, String)>,
    body: JsonBody<PublishRequest>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let (app_id, account_id) = checked_ids(path.into_inner())?;
    let mut request = body.into_inner();
    if (request.app_id != app_id && !request.app_id.is_empty())
        || (request.account_id != account_id && !request.account_id.is_empty())
    {
        return Err(ApiError::BadRequest(
            "app_id and account_id must be those of the path".into(),
        ));
    }
    request.app_id = app_id.to_string();
    request.account_id = account_id.to_string();
    request.validate().map_err(ApiError::BadRequest)?;
    let kinds: &[TokenKind] = if request.kind == PublicationKind::PagePost {
        &[TokenKind::Page]
    } else {
        &TokenKind::PREFERENCE
    };
    let intake = take(&state, request, &format!("admin/{request_id}")).await?;
    // Accepted either way (a scheduler may ask before the account's token is
    // registered); the answer says whether it can go on now, and why not.
    let token = match state.tokens.usable(&app_id, &account_id, kinds).await {
        Ok(()) => json!({"usable": true, "reason": null}),
        Err(error) => json!({"usable": false, "reason": error.reason()}),
    };
    let (status, mut body) = answer(intake)?;
    body["token"] = token;
    Ok(HttpResponse::build(status).json(body))
}

/// The path of one publication.
#[derive(Debug, Deserialize)]
pub struct PublicationPath {
    app_id: String,
    account_id: String,
    request_id: String,
}

/// One publication.
pub async fn get_publication(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<PublicationPath>,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    let (app_id, account_id) = checked_ids((p.app_id, p.account_id))?;
    let publication = state
        .services
        .store
        .publication(&app_id, &account_id, &p.request_id.into())
        .await?
        .ok_or(ApiError::NotFound("publication"))?;
    Ok(HttpResponse::Ok().json(PublicationView::from(publication)))
}

/// The second call: publishes a publication requested with `"publish": false`.
pub async fn publish_publication(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<PublicationPath>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    let (app_id, account_id) = checked_ids((p.app_id, p.account_id))?;
    let existing = state
        .services
        .store
        .publication(&app_id, &account_id, &p.request_id.into())
        .await?
        .ok_or(ApiError::NotFound("publication"))?;
    let mut request = existing.request;
    request.publish = true;
    let intake = take(&state, request, &format!("admin/{request_id}")).await?;
    let (status, body) = answer(intake)?;
    Ok(HttpResponse::build(status).json(body))
}

/// Query of a listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<PublishStatus>,
    #[serde(default)]
    after: String,
    limit: Option<i64>,
}

/// An account's publications (in a state, if given), by request id; `next_after`
/// continues the listing.
pub async fn list_publications(
    _: Admin,
    state: web::Data<ProcessorState>,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, account_id) = checked_ids(path.into_inner())?;
    let limit = page_limit(query.limit)?;
    let cursor = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    if query.after.len() > 128 || !query.after.chars().all(cursor) {
        return Err(ApiError::BadRequest(
            "after must be a request id from next_after".into(),
        ));
    }
    let rows = state
        .services
        .store
        .publications_of(&app_id, &account_id, query.state, &query.after, limit)
        .await?;
    let next_after = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|p| p.request_id.clone()))
        .flatten();
    let publications: Vec<PublicationView> = rows.into_iter().map(PublicationView::from).collect();
    Ok(HttpResponse::Ok().json(json!({"publications": publications, "next_after": next_after})))
}
