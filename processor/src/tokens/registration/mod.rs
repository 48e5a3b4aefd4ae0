//! Registering a token (`PUT /v1/apps/{app}/accounts/{id}/token`), checked where
//! Meta serves its kind before it is stored encrypted:
//! - Facebook login (user and Page tokens): `debug_token` on graph.facebook.com
//!   (valid, issued for this app, not expired, the kind it claims to be);
//! - Instagram login: graph.instagram.com, with the app's Instagram app (Meta does
//!   not parse these tokens on graph.facebook.com);
//!
//! and, for every kind, that the token acts for the account the path names
//! ([`crate::tokens::identity`]). A good token for an account that needed a reconnect (or
//! was revoked) brings it back to `active`.

use secrecy::SecretString;
use serde::Deserialize;

mod checks;

use checks::{check, instagram_inspection, meta_failure, refusal};

use crate::apply::transitions::{transition_account, AccountChange};
use crate::domain::account::{Transition, Trigger};
use crate::domain::ids::{AccountId, AppId};
use crate::store::{Registration, StoreError, StoredToken, TokenRecord};
use crate::tokens::cipher::CipherError;
use crate::tokens::identity::{check_owner, IdentityError};
use crate::tokens::manager::{hours, row_context, TokenManager};
use crate::tokens::meta::{debug_token, TokenCallError};
use crate::tokens::TokenKind;
use crate::unit_of_work::{UnitOfWork, WorkError};

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
    /// Seconds until the token expires, as Meta answered when the client got it
    /// (Instagram login: Meta has no `debug_token` for these tokens). Without it
    /// graphhook refreshes the token as soon as Meta allows (24 hours after
    /// registration) and learns its expiry from the refresh.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// Why a token was not registered.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// No encryption keys are configured.
    #[error("tokens are not configured (tokens.keys)")]
    NotConfigured,
    /// An Instagram-login token for an app without its Instagram app.
    #[error("the app's Instagram app is not configured")]
    NoInstagramApp,
    /// The token does not act for the account the path names.
    #[error("the token cannot act for this account: {0}")]
    NotForAccount(&'static str),
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

impl TokenManager {
    /// Checks `request`'s token with Meta and stores it encrypted; returns its
    /// metadata and the account's transition, if it changed state.
    pub async fn register(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
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
        let now = inner.clock.now_ms();
        let kind = request.kind.as_str();
        let inspection = if request.kind == TokenKind::InstagramLogin {
            if inner.apps.instagram_app_id(app_id).is_none() {
                return Err(RegistrationError::NoInstagramApp);
            }
            let window = hours(inner.settings.refresh_before_days.saturating_mul(24));
            instagram_inspection(request.expires_in, now, window)
        } else {
            let inspection = debug_token(&inner.gateway, &inner.apps, app_id, &request.token)
                .await
                .map_err(meta_failure)?;
            if let Some(why) = refusal(app_id, request.kind, &inspection, now) {
                tracing::warn!(%app_id, %account_id, kind, reason = %why, "token refused");
                return Err(RegistrationError::Rejected(why));
            }
            inspection
        };
        let target = (app_id, account_id);
        let page_named = request.page_id.as_deref();
        let identity = check_owner(&inner.gateway, target, request.kind, &request.token, page_named)
            .await
            .map_err(|error| match error {
                IdentityError::NotForAccount(why) => {
                    tracing::warn!(%app_id, %account_id, kind, reason = why, "token refused: not for this account");
                    RegistrationError::NotForAccount(why)
                }
                IdentityError::Call(error) => meta_failure(error),
            })?;
        let record = TokenRecord {
            app_id: app_id.to_owned(),
            account_id: account_id.to_owned(),
            kind: request.kind,
            tenant: request.tenant.clone(),
            page_id: request.page_id.clone().or(identity.page_id),
            user_id: identity.user_id.or_else(|| inspection.user_id.clone()),
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
    #[tracing::instrument(name = "unit_of_work", skip_all, fields(
        app_id = %record.app_id, account_id = %record.account_id,
    ))]
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
        uow.commit_and_wake(&inner.metrics).await?;
        Ok(transition)
    }

    /// An account's tokens (metadata only).
    pub async fn tokens_of(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
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
