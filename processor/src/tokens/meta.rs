//! What graphhook asks Meta about tokens: `debug_token` (is it valid, for which
//! app, until when, with which scopes) and the two refreshes (Instagram login:
//! `ig_refresh_token`; Facebook login: `fb_exchange_token`). All through the
//! gateway, so the call budget applies.

use graphhook_graph::{Call, Host};
use secrecy::SecretString;
use serde::Deserialize;

use super::TokenKind;
use crate::domain::ids::{AccountId, AppId};
use crate::gateway::{AppSecrets, Gateway, GatewayError};

/// Why a token call failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenCallError {
    /// The app is not configured (its secret is needed).
    #[error("app {0} is not configured")]
    UnknownApp(String),
    /// The call was not made, or failed.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// Meta answered something graphhook cannot read.
    #[error("unexpected answer from Meta: {0}")]
    Malformed(&'static str),
}

/// What `debug_token` says about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Whether the token works.
    pub is_valid: bool,
    /// The app it was issued for.
    pub app_id: Option<String>,
    /// `USER`, `PAGE`, `SYSTEM_USER`, ...
    pub kind: Option<String>,
    /// When it was issued, epoch ms.
    pub issued_at_ms: Option<i64>,
    /// When it expires, epoch ms; `None`: never.
    pub expires_at_ms: Option<i64>,
    /// When its data access expires, epoch ms.
    pub data_access_expires_at_ms: Option<i64>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The app-scoped user who granted it.
    pub user_id: Option<String>,
    /// For an invalid token: Meta's code and subcode.
    pub error: Option<(Option<i64>, Option<i64>)>,
}

#[derive(Deserialize)]
struct DebugBody {
    data: DebugData,
}

#[derive(Deserialize)]
struct DebugData {
    #[serde(default)]
    is_valid: bool,
    #[serde(
        default,
        deserialize_with = "graphhook_schema::lenient::optional_string"
    )]
    app_id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    issued_at: Option<i64>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    data_access_expires_at: Option<i64>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(
        default,
        deserialize_with = "graphhook_schema::lenient::optional_string"
    )]
    user_id: Option<String>,
    #[serde(default)]
    error: Option<DebugError>,
}

#[derive(Deserialize)]
struct DebugError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    subcode: Option<i64>,
}

fn seconds_to_ms(seconds: Option<i64>) -> Option<i64> {
    seconds.filter(|s| *s > 0).map(|s| s.saturating_mul(1000))
}

/// Asks `debug_token` about `token` with the app's own token.
pub async fn debug_token(
    gateway: &Gateway,
    apps: &AppSecrets,
    app_id: &AppId,
    token: &SecretString,
) -> Result<Inspection, TokenCallError> {
    let app_token = apps
        .app_token(app_id)
        .ok_or_else(|| TokenCallError::UnknownApp(app_id.to_string()))?;
    let call = Call::get(Host::Facebook, "debug_token", "/debug_token")
        .secret_query("input_token", token.clone())
        .token(app_token);
    let answer = gateway.call_for_app(app_id, call).await?;
    let body: DebugBody = serde_json::from_value(answer.body)
        .map_err(|_| TokenCallError::Malformed("debug_token data"))?;
    let data = body.data;
    Ok(Inspection {
        is_valid: data.is_valid,
        app_id: data.app_id,
        kind: data.kind,
        issued_at_ms: seconds_to_ms(data.issued_at),
        expires_at_ms: seconds_to_ms(data.expires_at),
        data_access_expires_at_ms: seconds_to_ms(data.data_access_expires_at),
        scopes: data.scopes,
        user_id: data.user_id,
        error: data.error.map(|e| (e.code, e.subcode)),
    })
}

/// A refreshed token.
pub struct Refreshed {
    /// The new token.
    pub token: SecretString,
    /// When it expires, epoch ms; `None` when Meta did not say.
    pub expires_at_ms: Option<i64>,
}

#[derive(Deserialize)]
struct RefreshBody {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<i64>,
}

/// Refreshes a user token: Instagram login with `ig_refresh_token`, Facebook login
/// with `fb_exchange_token`. Page tokens are not refreshed.
pub async fn refresh(
    gateway: &Gateway,
    apps: &AppSecrets,
    (app_id, account_id, kind): (&AppId, &AccountId, TokenKind),
    token: &SecretString,
    now_ms: i64,
) -> Result<Refreshed, TokenCallError> {
    let call = match kind {
        TokenKind::InstagramLogin => {
            Call::get(Host::Instagram, "ig_refresh_token", "/refresh_access_token")
                .unversioned()
                .query("grant_type", "ig_refresh_token")
                .token(token.clone())
        }
        TokenKind::FacebookUser => {
            let secret = apps
                .secret(app_id)
                .ok_or_else(|| TokenCallError::UnknownApp(app_id.to_string()))?;
            Call::get(Host::Facebook, "fb_exchange_token", "/oauth/access_token")
                .query("grant_type", "fb_exchange_token")
                .query("client_id", app_id.as_str())
                .secret_query("client_secret", secret.clone())
                .secret_query("fb_exchange_token", token.clone())
        }
        TokenKind::Page => return Err(TokenCallError::Malformed("Page tokens are not refreshed")),
    };
    let answer = gateway.call_for_account(app_id, account_id, call).await?;
    let body: RefreshBody = serde_json::from_value(answer.body)
        .map_err(|_| TokenCallError::Malformed("no access_token"))?;
    Ok(Refreshed {
        token: body.access_token,
        expires_at_ms: body
            .expires_in
            .filter(|s| *s > 0)
            .map(|s| now_ms.saturating_add(s.saturating_mul(1000))),
    })
}
