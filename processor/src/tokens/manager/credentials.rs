//! What the manager hands out for a call, and why it may not.

use graphhook_schema::account::AccountState;
use secrecy::SecretString;

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
