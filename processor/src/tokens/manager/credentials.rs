//! What the manager hands out for a call, and why it may not.

use graphhook_schema::account::AccountState;
use secrecy::SecretString;

use crate::domain::ids::{AccountId, AppId};
use crate::store::StoreError;
use crate::tokens::cipher::CipherError;
use crate::tokens::TokenKind;

/// A token handed out for a call.
pub struct Credentials {
    /// Its kind (which host it works with).
    pub kind: TokenKind,
    /// The token.
    pub token: SecretString,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Why no credentials were handed out.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No encryption keys are configured (`tokens.keys`).
    #[error("tokens are not configured (tokens.keys)")]
    NotConfigured,
    /// The account is not known.
    #[error("the account is not registered")]
    NoAccount,
    /// The account needs a reconnect or is revoked: nothing may be called for it.
    #[error("the account is {}", state.as_str())]
    NotActive {
        /// Its state.
        state: AccountState,
    },
    /// The account has no token (of the kind asked for).
    #[error("the account has no token")]
    NoToken,
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// The token is inside its hard margin and could not be refreshed.
    #[error("the token could not be refreshed: {0}")]
    RefreshFailed(String),
    /// The stored token cannot be decrypted.
    #[error(transparent)]
    Unreadable(#[from] CipherError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CredentialsError {
    /// The reason a publication is held for it (`publish-status.v1`, the admin
    /// API, `graphhook_publication_holds_total{reason}`).
    pub fn reason(&self) -> &'static str {
        match self {
            CredentialsError::NotConfigured => "tokens_not_configured",
            CredentialsError::NoAccount => "account_unknown",
            CredentialsError::NotActive { .. } => "account_not_active",
            CredentialsError::NoToken => "token_missing",
            CredentialsError::Expired => "token_expired",
            CredentialsError::RefreshFailed(_) => "token_refresh_failed",
            CredentialsError::Unreadable(_) => "token_unreadable",
            CredentialsError::Store(_) => "store_unavailable",
        }
    }
}

impl super::TokenManager {
    /// Whether the account could get a token of one of `kinds` now, without
    /// refreshing anything: what `POST .../publications` answers beside the
    /// accepted publication.
    pub async fn usable(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        kinds: &[TokenKind],
    ) -> Result<(), CredentialsError> {
        let cipher = self.callable(app_id, account_id).await?;
        let stored = self.pick(app_id, account_id, kinds).await?;
        self.open_unexpired(cipher, &stored)?;
        Ok(())
    }
}
