//! Registering a token (`PUT /v1/apps/{app}/accounts/{id}/token`): checked with
//! `debug_token` (valid, issued for this app, not expired, the kind it claims to
//! be) before it is stored encrypted. A good token for an account that needed a
//! reconnect (or was revoked) brings it back to `active`.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::cipher::CipherError;
use super::manager::{row_context, TokenManager};
use super::meta::{debug_token, Inspection, TokenCallError};
use super::TokenKind;
use crate::domain::account::{Transition, Trigger};
use crate::domain::content::check_id;
use crate::domain::transitions::{transition_account, AccountChange};
use crate::store::{Registration, StoreError, StoredToken, TokenRecord};
use crate::unit_of_work::{UnitOfWork, WorkError};

/// The longest token accepted, in bytes.
const MAX_TOKEN_BYTES: usize = 4_096;

/// What a client sends to register a token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRegistration {
    /// The token (never logged, never answered).
    pub token: SecretString,
    /// Its kind.
    pub kind: TokenKind,
    /// The operator's tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The linked Facebook Page.
    #[serde(default)]
    pub page_id: Option<String>,
}

/// Why a token was not registered.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// No encryption keys are configured.
    #[error("tokens are not configured (tokens.keys)")]
    NotConfigured,
    /// The app is not configured.
    #[error("no app with this id is configured")]
    UnknownApp,
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// Meta says the token cannot be used.
    #[error("Meta does not accept the token: {0}")]
    Rejected(String),
    /// Asking Meta failed.
    #[error(transparent)]
    Meta(TokenCallError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Encryption failed.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

impl From<WorkError> for RegistrationError {
    fn from(error: WorkError) -> Self {
        match error {
            WorkError::Store(error) => RegistrationError::Store(error),
            WorkError::Rejected(rejection) => RegistrationError::Invalid(rejection.0),
        }
    }
}

fn check(
    app_id: &str,
    account_id: &str,
    request: &TokenRegistration,
) -> Result<(), RegistrationError> {
    let invalid = |r: crate::domain::content::Rejection| RegistrationError::Invalid(r.0);
    check_id("app id", app_id).map_err(invalid)?;
    check_id("account id", account_id).map_err(invalid)?;
    for (what, value) in [("tenant", &request.tenant), ("page id", &request.page_id)] {
        if let Some(value) = value {
            check_id(what, value).map_err(invalid)?;
        }
    }
    let token = request.token.expose_secret();
    if token.is_empty()
        || token.len() > MAX_TOKEN_BYTES
        || token.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(RegistrationError::Invalid(format!(
            "token must be 1 to {MAX_TOKEN_BYTES} bytes without spaces or control characters"
        )));
    }
    Ok(())
}

/// Why Meta's answer about a token does not allow storing it, if it does not.
fn refusal(app_id: &str, kind: TokenKind, inspection: &Inspection, now_ms: i64) -> Option<String> {
    if !inspection.is_valid {
        return Some("it is not valid".to_owned());
    }
    if inspection.app_id.as_deref() != Some(app_id) {
        return Some("it was issued for another app".to_owned());
    }
    if inspection.expires_at_ms.is_some_and(|e| e <= now_ms) {
        return Some("it has expired".to_owned());
    }
    let page = inspection.kind.as_deref() == Some("PAGE");
    if (kind == TokenKind::Page) != page && inspection.kind.is_some() {
        return Some(format!(
            "it is a {} token, not a {} token",
            inspection.kind.as_deref().unwrap_or("?"),
            kind.as_str()
        ));
    }
    None
}

impl TokenManager {
    /// Checks `request`'s token with Meta and stores it encrypted; returns its
    /// metadata and the account's transition, if it changed state.
    pub async fn register(
        &self,
        app_id: &str,
        account_id: &str,
        request: TokenRegistration,
    ) -> Result<(TokenRecord, Option<Transition>), RegistrationError> {
        let inner = &self.inner;
        let cipher = inner
            .cipher
            .as_ref()
            .ok_or(RegistrationError::NotConfigured)?;
        if !inner.apps.knows(app_id) {
            return Err(RegistrationError::UnknownApp);
        }
        check(app_id, account_id, &request)?;
        let inspection = debug_token(&inner.gateway, &inner.apps, app_id, &request.token)
            .await
            .map_err(RegistrationError::Meta)?;
        let now = inner.clock.now_ms();
        if let Some(why) = refusal(app_id, request.kind, &inspection, now) {
            tracing::warn!(%app_id, %account_id, kind = request.kind.as_str(), reason = %why, "token refused");
            return Err(RegistrationError::Rejected(why));
        }
        let record = TokenRecord {
            app_id: app_id.to_owned(),
            account_id: account_id.to_owned(),
            kind: request.kind,
            tenant: request.tenant.clone(),
            page_id: request.page_id.clone(),
            user_id: inspection.user_id.clone(),
            scopes: inspection.scopes.clone(),
            issued_at_ms: inspection.issued_at_ms.unwrap_or(now),
            expires_at_ms: inspection.expires_at_ms,
            data_access_expires_at_ms: inspection.data_access_expires_at_ms,
            last_refresh_at_ms: None,
            last_check_at_ms: now,
            key_id: cipher.active_key().to_owned(),
            failures: 0,
            next_attempt_at_ms: 0,
        };
        let sealed = cipher.seal(&row_context(&record), &request.token)?;
        let stored = StoredToken { record, sealed };
        inner.store.save_token(&stored, now).await?;
        let transition = self.registered(&stored.record, now).await?;
        tracing::info!(%app_id, %account_id, kind = request.kind.as_str(), "token registered");
        Ok((stored.record, transition))
    }

    /// Records the account's owner, tenant and Page, and brings it back to active.
    async fn registered(
        &self,
        record: &TokenRecord,
        now: i64,
    ) -> Result<Option<Transition>, RegistrationError> {
        let inner = &self.inner;
        let mut uow = UnitOfWork::begin(&inner.store, &inner.topics, now).await?;
        let registration = Registration {
            tenant: record.tenant.clone(),
            page_id: record.page_id.clone(),
            user_id: record.user_id.clone(),
        };
        uow.tx
            .register(&record.app_id, &record.account_id, &registration, now)
            .await?;
        let source = format!(
            "token/{}/{}/{}/registered/{now}",
            record.app_id,
            record.account_id,
            record.kind.as_str()
        );
        let change = AccountChange {
            app_id: &record.app_id,
            account_id: &record.account_id,
            trigger: Trigger::TokenRegistered,
            at_ms: now,
            source_id: &source,
        };
        let transition = transition_account(&mut uow, &change).await?;
        uow.commit_and_wake(&inner.metrics, &inner.relay).await?;
        Ok(transition)
    }

    /// An account's tokens (metadata only).
    pub async fn tokens_of(
        &self,
        app_id: &str,
        account_id: &str,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        Ok(self
            .inner
            .store
            .tokens_of(app_id, account_id)
            .await?
            .into_iter()
            .map(|t| t.record)
            .collect())
    }
}
