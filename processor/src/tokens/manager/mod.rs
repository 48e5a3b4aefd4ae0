//! The token manager: the only code that decrypts a token. It hands out
//! credentials for active accounts, refreshes user tokens ahead of expiry (one
//! replica per token, through a lease in the store), audits Page tokens, and
//! flags accounts whose token cannot be refreshed before it dies.

mod account_checks;
mod credentials;
mod pass;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use graphhook_kafka::Topics;
use graphhook_schema::account::AccountState;
use tokio::sync::watch;

use super::cipher::{context, TokenCipher};
use super::{TokenKind, TokenSettings};
use crate::clock::SharedClock;
use crate::domain::ids::{AccountId, AppId};
use crate::gateway::{AppSecrets, Gateway};
use crate::metrics::ProcessorMetrics;
use crate::services::Services;
use crate::store::{Store, StoreError, StoredToken, TokenRecord};

pub use credentials::{Credentials, CredentialsError};
pub use pass::PassReport;

const HOUR_MS: i64 = 3_600_000;
/// Instagram-login tokens can be refreshed once they are this old.
const INSTAGRAM_MIN_AGE_MS: i64 = 24 * HOUR_MS;
/// The longest wait between refresh attempts.
const RETRY_MAX_MS: i64 = 6 * HOUR_MS;
/// Tokens looked at per pass of the job.
const PASS: i64 = 500;

/// What callers waiting for a refresh in progress watch: its outcome once known.
type RefreshWatch = watch::Receiver<Option<Result<(), String>>>;

/// The token manager. Cheap to clone.
#[derive(Clone)]
pub struct TokenManager {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) store: Store,
    pub(super) cipher: Option<Arc<TokenCipher>>,
    pub(super) gateway: Gateway,
    pub(super) apps: AppSecrets,
    pub(super) settings: TokenSettings,
    pub(super) clock: SharedClock,
    pub(super) topics: Topics,
    pub(super) metrics: ProcessorMetrics,
    /// This replica's name on leases.
    instance: String,
    /// Refreshes in progress in this process, so concurrent callers share one.
    refreshing: Mutex<HashMap<String, RefreshWatch>>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("instance", &self.inner.instance)
            .finish_non_exhaustive()
    }
}

/// `hours` in ms, saturating.
pub(crate) fn hours(hours: u64) -> i64 {
    i64::try_from(hours).unwrap_or(i64::MAX / HOUR_MS) * HOUR_MS
}

impl TokenManager {
    /// A manager calling through `gateway`, sealing tokens with `cipher`
    /// (`None` without keys), under `[tokens]` `settings`.
    pub fn new(
        services: &Services,
        gateway: Gateway,
        cipher: Option<TokenCipher>,
        settings: TokenSettings,
    ) -> Self {
        TokenManager {
            inner: Arc::new(Inner {
                store: services.store.clone(),
                cipher: cipher.map(Arc::new),
                gateway,
                apps: services.apps.clone(),
                settings,
                clock: services.clock.clone(),
                topics: services.topics.clone(),
                metrics: services.metrics.clone(),
                instance: format!("tokens-{}", uuid::Uuid::new_v4().simple()),
                refreshing: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Whether tokens can be stored (keys are configured).
    pub fn configured(&self) -> bool {
        self.inner.cipher.is_some()
    }

    /// Stored tokens this manager's keys cannot decrypt, by key id (see
    /// [`crate::tokens::rotation::unreadable_keys`]).
    pub async fn unreadable_keys(&self) -> Result<Vec<(String, i64)>, StoreError> {
        crate::tokens::rotation::unreadable_keys(&self.inner.store, self.inner.cipher.as_deref())
            .await
    }

    /// The token for a call for an active account: Instagram login first, then a
    /// Page token, then a Facebook user token. A token inside its hard margin is
    /// refreshed first (once, however many callers ask at the same moment).
    pub async fn credentials(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
    ) -> Result<Credentials, CredentialsError> {
        self.credentials_among(app_id, account_id, &TokenKind::PREFERENCE)
            .await
    }

    /// The account's token of `kind` (Page posts need the Page token).
    pub async fn credentials_of(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        kind: TokenKind,
    ) -> Result<Credentials, CredentialsError> {
        self.credentials_among(app_id, account_id, &[kind]).await
    }

    async fn credentials_among(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        kinds: &[TokenKind],
    ) -> Result<Credentials, CredentialsError> {
        let inner = &self.inner;
        let cipher = self.callable(app_id, account_id).await?;
        let mut stored = self.pick(app_id, account_id, kinds).await?;
        let now = inner.clock.now_ms();
        let margin = hours(inner.settings.hard_margin_hours);
        if stored
            .record
            .expires_at_ms
            .is_some_and(|e| e - now < margin)
        {
            self.refresh_shared(&stored).await?;
            stored = self.pick(app_id, account_id, &[stored.record.kind]).await?;
        }
        let token = self.open_unexpired(cipher, &stored)?;
        Ok(Credentials {
            kind: stored.record.kind,
            token,
        })
    }

    /// The cipher, once the account may be called for: known, and active (or
    /// refreshing: while a refresh is in progress the token still works, and a
    /// caller inside the hard margin shares that refresh).
    pub(super) async fn callable(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
    ) -> Result<&TokenCipher, CredentialsError> {
        let inner = &self.inner;
        let cipher = inner
            .cipher
            .as_deref()
            .ok_or(CredentialsError::NotConfigured)?;
        let account = inner
            .store
            .account(app_id, account_id)
            .await?
            .ok_or(CredentialsError::NoAccount)?;
        if !matches!(
            account.snapshot.state,
            AccountState::Active | AccountState::Refreshing
        ) {
            return Err(CredentialsError::NotActive {
                state: account.snapshot.state,
            });
        }
        Ok(cipher)
    }

    /// The stored token decrypted, unless it has expired.
    pub(super) fn open_unexpired(
        &self,
        cipher: &TokenCipher,
        stored: &StoredToken,
    ) -> Result<secrecy::SecretString, CredentialsError> {
        if stored
            .record
            .expires_at_ms
            .is_some_and(|e| e <= self.inner.clock.now_ms())
        {
            return Err(CredentialsError::Expired);
        }
        Ok(cipher.open(&row_context(&stored.record), &stored.sealed)?)
    }

    async fn pick(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        kinds: &[TokenKind],
    ) -> Result<StoredToken, CredentialsError> {
        let tokens = self.inner.store.tokens_of(app_id, account_id).await?;
        kinds
            .iter()
            .find_map(|kind| tokens.iter().find(|t| t.record.kind == *kind).cloned())
            .ok_or(CredentialsError::NoToken)
    }

    /// Refreshes `stored` now, sharing the refresh with concurrent callers in this
    /// process; another replica's refresh in progress is waited for briefly.
    async fn refresh_shared(&self, stored: &StoredToken) -> Result<(), CredentialsError> {
        let key = format!(
            "{}\u{1f}{}\u{1f}{}",
            stored.record.app_id,
            stored.record.account_id,
            stored.record.kind.as_str()
        );
        let lead = {
            let mut map = self
                .inner
                .refreshing
                .lock()
                .map_err(|_| CredentialsError::RefreshFailed("lock poisoned".into()))?;
            match map.get(&key) {
                Some(receiver) => Err(receiver.clone()),
                None => {
                    let (sender, receiver) = watch::channel(None);
                    map.insert(key.clone(), receiver);
                    Ok(sender)
                }
            }
        };
        match lead {
            Ok(sender) => {
                let outcome = self.refresh_one(stored, self.inner.clock.now_ms()).await;
                let result = match outcome {
                    Refresh::Refreshed | Refresh::Busy => Ok(()),
                    other => Err(format!("{other:?}")),
                };
                sender.send_replace(Some(result.clone()));
                if let Ok(mut map) = self.inner.refreshing.lock() {
                    map.remove(&key);
                }
                result.map_err(CredentialsError::RefreshFailed)
            }
            Err(mut receiver) => loop {
                if let Some(result) = receiver.borrow_and_update().clone() {
                    return result.map_err(CredentialsError::RefreshFailed);
                }
                if receiver.changed().await.is_err() {
                    return Err(CredentialsError::RefreshFailed("abandoned".into()));
                }
            },
        }
    }
}

/// How a refresh attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresh {
    Refreshed,
    Failed,
    Reconnect,
    NotYet,
    Busy,
    Skipped,
}

/// The context a token's ciphertext is bound to.
pub(crate) fn row_context(record: &TokenRecord) -> String {
    context(&record.app_id, &record.account_id, record.kind.as_str())
}
