//! The calls publishing makes to Meta, through the gateway (so holds and budgets
//! apply): create a container, read its status, publish it, read the publishing
//! quota, post on a Page and read a Page post.

use graphhook_graph::{Call, Host};
use graphhook_schema::graph_error::subcode_in_text;
use graphhook_schema::publishing::{clean_text, meta_id_in};
use serde_json::Value;

use crate::domain::ids::{AccountId, AppId, ContainerId, MediaId};
use crate::gateway::{Gateway, GatewayError};
use crate::tokens::manager::Credentials;

/// A container's `status_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerStatus {
    /// `IN_PROGRESS`.
    InProgress,
    /// `FINISHED`: ready to publish.
    Finished,
    /// `PUBLISHED`.
    Published,
    /// `ERROR`, with the subcode found in the `status` text and the text.
    Error {
        /// The subcode in the text.
        subcode: Option<i64>,
        /// The text.
        text: Option<String>,
    },
    /// `EXPIRED`: not published within 24 hours.
    Expired,
}

/// Why a publishing call failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishCallError {
    /// Not made, or failed (see its class).
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// Meta answered, but not with what the call gives.
    #[error("unexpected answer from Meta: {0}")]
    Malformed(&'static str),
}

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.is_empty() => Some(clean_text(s, MAX_TEXT)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The most characters of Meta's text kept with a publication.
const MAX_TEXT: usize = 1_000;

/// The caller of one account's publishing calls.
pub struct Caller<'a> {
    /// The gateway.
    pub gateway: &'a Gateway,
    /// Meta's app id.
    pub app_id: &'a AppId,
    /// The Instagram account or Page.
    pub account_id: &'a AccountId,
    /// Its token.
    pub credentials: &'a Credentials,
}

impl Caller<'_> {
    async fn call(&self, call: Call) -> Result<Value, PublishCallError> {
        let call = call.token(self.credentials.token.clone());
        Ok(self
            .gateway
            .call_for_account(self.app_id, self.account_id, call)
            .await?
            .body)
    }

    /// `POST /{ig-user-id}/media` with `params`; the new container's id.
    pub async fn create_container(
        &self,
        params: &[(String, String)],
    ) -> Result<ContainerId, PublishCallError> {
        let mut call = Call::post(
            self.credentials.kind.host(),
            "create_container",
            format!("/{}/media", self.account_id),
        );
        for (key, value) in params {
            call = call.form(key, value.clone());
        }
        let body = self.call(call).await?;
        meta_id_in(&body, "id")
            .map(ContainerId::from)
            .ok_or(PublishCallError::Malformed("no container id"))
    }

    /// `GET /{container-id}?fields=status_code,status`.
    pub async fn container_status(
        &self,
        container_id: &ContainerId,
    ) -> Result<ContainerStatus, PublishCallError> {
        let call = Call::get(
            self.credentials.kind.host(),
            "container_status",
            format!("/{container_id}"),
        )
        .query("fields", "status_code,status");
        let body = self.call(call).await?;
        let status = text(&body, "status");
        Ok(match text(&body, "status_code").as_deref() {
            Some("IN_PROGRESS") => ContainerStatus::InProgress,
            Some("FINISHED") => ContainerStatus::Finished,
            Some("PUBLISHED") => ContainerStatus::Published,
            Some("EXPIRED") => ContainerStatus::Expired,
            Some("ERROR") => ContainerStatus::Error {
                subcode: status.as_deref().and_then(subcode_in_text),
                text: status,
            },
            _ => return Err(PublishCallError::Malformed("no status_code")),
        })
    }

    /// `POST /{ig-user-id}/media_publish?creation_id=...`; the media id.
    pub async fn media_publish(
        &self,
        container_id: &ContainerId,
    ) -> Result<MediaId, PublishCallError> {
        let call = Call::post(
            self.credentials.kind.host(),
            "media_publish",
            format!("/{}/media_publish", self.account_id),
        )
        .form("creation_id", container_id.as_str());
        let body = self.call(call).await?;
        meta_id_in(&body, "id")
            .map(MediaId::from)
            .ok_or(PublishCallError::Malformed("no media id"))
    }

    /// `GET /{ig-user-id}/content_publishing_limit`: posts in the rolling window
    /// and the allowance.
    pub async fn quota(&self) -> Result<(i64, i64), PublishCallError> {
        let call = Call::get(
            self.credentials.kind.host(),
            "content_publishing_limit",
            format!("/{}/content_publishing_limit", self.account_id),
        )
        .query("fields", "quota_usage,config");
        let body = self.call(call).await?;
        let entry = body
            .get("data")
            .and_then(|d| d.get(0))
            .ok_or(PublishCallError::Malformed("no quota data"))?;
        let usage = entry
            .get("quota_usage")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let total = entry
            .pointer("/config/quota_total")
            .and_then(Value::as_i64)
            .ok_or(PublishCallError::Malformed("no quota_total"))?;
        Ok((usage, total))
    }

    /// Posts on the Page: `/{page-id}/photos` with a photo, `/{page-id}/feed`
    /// otherwise. The post id.
    pub async fn page_post(
        &self,
        message: Option<&str>,
        link: Option<&str>,
        photo: Option<&str>,
    ) -> Result<String, PublishCallError> {
        let page = self.account_id;
        let mut call = match photo {
            Some(url) => {
                Call::post(Host::Facebook, "page_photo", format!("/{page}/photos")).form("url", url)
            }
            None => Call::post(Host::Facebook, "page_feed", format!("/{page}/feed")),
        };
        if let Some(message) = message {
            call = call.form(
                if photo.is_some() {
                    "caption"
                } else {
                    "message"
                },
                message,
            );
        }
        if let Some(link) = link {
            call = call.form("link", link);
        }
        let body = self.call(call).await?;
        meta_id_in(&body, "post_id")
            .or_else(|| meta_id_in(&body, "id"))
            .ok_or(PublishCallError::Malformed("no post id"))
    }

    /// Whether the Page post exists and is published.
    pub async fn page_post_published(&self, post_id: &str) -> Result<bool, PublishCallError> {
        let call = Call::get(Host::Facebook, "page_post_read", format!("/{post_id}"))
            .query("fields", "id,is_published");
        let body = self.call(call).await?;
        Ok(body
            .get("is_published")
            .and_then(Value::as_bool)
            .unwrap_or(true)
            && meta_id_in(&body, "id").is_some())
    }
}
