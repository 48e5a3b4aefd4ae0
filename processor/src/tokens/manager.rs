//! The token manager: the only code that decrypts a token. It hands out
//! credentials for active accounts, refreshes user tokens ahead of expiry (one
//! replica per token, through a lease in the store), audits Page tokens, and
//! flags accounts whose token cannot be refreshed before it dies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use graphhook_kafka::Topics;
use graphhook_schema::account::AccountState;
use graphhook_schema::graph_error::ErrorClass;
use secrecy::SecretString;
use tokio::sync::watch;

use super::cipher::{context, CipherError, TokenCipher};
use super::meta::{refresh, TokenCallError};
use super::{TokenKind, TokenSettings};
use crate::clock::SharedClock;
use crate::domain::account::{Transition, Trigger};
use crate::domain::transitions::{transition_account, AccountChange};
use crate::gateway::{AppSecrets, Gateway, GatewayError};
use crate::metrics::ProcessorMetrics;
use crate::pipeline::relay::Relay;
use crate::store::{Store, StoreError, StoredToken, TokenRecord};
use crate::unit_of_work::{UnitOfWork, WorkError};

const HOUR_MS: i64 = 3_600_000;
/// Instagram-login tokens can be refreshed once they are this old.
const INSTAGRAM_MIN_AGE_MS: i64 = 24 * HOUR_MS;
/// The longest wait between refresh attempts.
const RETRY_MAX_MS: i64 = 6 * HOUR_MS;
/// Tokens looked at per pass of the job.
const PASS: i64 = 500;

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
    /// The account is not active: nothing may be called for it.
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

/// What one pass of the pre-rotation job did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Tokens refreshed.
    pub refreshed: usize,
    /// Refreshes that failed for now.
    pub failed: usize,
    /// Refreshes answered with a reconnect-class error.
    pub reconnect: usize,
    /// Accounts flagged because their token expires unrefreshed.
    pub flagged: usize,
    /// Page tokens audited.
    pub audited: usize,
    /// Tokens another replica was working on.
    pub busy: usize,
}

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
    pub(super) relay: Relay,
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

/// What the token manager works with.
pub struct TokenManagerParts {
    /// The store.
    pub store: Store,
    /// The cipher; `None` without keys.
    pub cipher: Option<TokenCipher>,
    /// The Graph gateway.
    pub gateway: Gateway,
    /// The apps' secrets.
    pub apps: AppSecrets,
    /// `[tokens]`.
    pub settings: TokenSettings,
    /// The clock.
    pub clock: SharedClock,
    /// Topic names.
    pub topics: Topics,
    /// The outbox relay.
    pub relay: Relay,
    /// Metrics.
    pub metrics: ProcessorMetrics,
}

fn hours(hours: u64) -> i64 {
    i64::try_from(hours).unwrap_or(i64::MAX / HOUR_MS) * HOUR_MS
}

impl TokenManager {
    /// A manager over `parts`.
    pub fn new(parts: TokenManagerParts) -> Self {
        TokenManager {
            inner: Arc::new(Inner {
                store: parts.store,
                cipher: parts.cipher.map(Arc::new),
                gateway: parts.gateway,
                apps: parts.apps,
                settings: parts.settings,
                clock: parts.clock,
                topics: parts.topics,
                relay: parts.relay,
                metrics: parts.metrics,
                instance: format!("tokens-{}", uuid::Uuid::new_v4().simple()),
                refreshing: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Whether tokens can be stored (keys are configured).
    pub fn configured(&self) -> bool {
        self.inner.cipher.is_some()
    }

    /// The token for a call for an active account: Instagram login first, then a
    /// Page token, then a Facebook user token. A token inside its hard margin is
    /// refreshed first (once, however many callers ask at the same moment).
    pub async fn credentials(
        &self,
        app_id: &str,
        account_id: &str,
    ) -> Result<Credentials, CredentialsError> {
        self.credentials_among(app_id, account_id, &TokenKind::PREFERENCE)
            .await
    }

    /// The account's token of `kind` (Page posts need the Page token).
    pub async fn credentials_of(
        &self,
        app_id: &str,
        account_id: &str,
        kind: TokenKind,
    ) -> Result<Credentials, CredentialsError> {
        self.credentials_among(app_id, account_id, &[kind]).await
    }

    async fn credentials_among(
        &self,
        app_id: &str,
        account_id: &str,
        kinds: &[TokenKind],
    ) -> Result<Credentials, CredentialsError> {
        let inner = &self.inner;
        let cipher = inner
            .cipher
            .as_ref()
            .ok_or(CredentialsError::NotConfigured)?;
        let account = inner
            .store
            .account(app_id, account_id)
            .await?
            .ok_or(CredentialsError::NoAccount)?;
        if account.snapshot.state != AccountState::Active {
            return Err(CredentialsError::NotActive {
                state: account.snapshot.state,
            });
        }
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
        if stored
            .record
            .expires_at_ms
            .is_some_and(|e| e <= inner.clock.now_ms())
        {
            return Err(CredentialsError::Expired);
        }
        let token = cipher.open(&row_context(&stored.record), &stored.sealed)?;
        Ok(Credentials {
            kind: stored.record.kind,
            token,
        })
    }

    async fn pick(
        &self,
        app_id: &str,
        account_id: &str,
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

    /// One pass of the pre-rotation job at the clock's time: refreshes user tokens
    /// entering their refresh window, audits Page tokens due for it, and flags the
    /// accounts of tokens still unrefreshed inside the alert window.
    pub async fn run_pass(&self) -> Result<PassReport, StoreError> {
        let inner = &self.inner;
        let mut report = PassReport::default();
        if inner.cipher.is_none() {
            return Ok(report);
        }
        let now = inner.clock.now_ms();
        let settings = &inner.settings;
        let refresh_window = hours(settings.refresh_before_days * 24);
        let jitter = hours(settings.refresh_jitter_hours);
        let alert = hours(settings.alert_before_hours);
        let tokens = inner
            .store
            .tokens_to_look_at(
                now,
                now + refresh_window + jitter,
                now + alert,
                now - hours(settings.page_audit_hours),
                PASS,
            )
            .await?;
        for stored in tokens {
            let record = &stored.record;
            match record.expires_at_ms {
                None => {
                    if self.audit(&stored, now).await {
                        report.audited += 1;
                    }
                }
                Some(expires) => {
                    let starts = expires - refresh_window - jitter_of(record, jitter);
                    if now >= starts && record.next_attempt_at_ms <= now {
                        match self.refresh_one(&stored, now).await {
                            Refresh::Refreshed => report.refreshed += 1,
                            Refresh::Failed => report.failed += 1,
                            Refresh::Reconnect => report.reconnect += 1,
                            Refresh::Busy => report.busy += 1,
                            Refresh::NotYet | Refresh::Skipped => {}
                        }
                    }
                    let current = inner.store.token(record.key()).await?;
                    let still_expiring = current
                        .as_ref()
                        .and_then(|t| t.record.expires_at_ms)
                        .is_some_and(|e| e - now <= alert);
                    if still_expiring && self.flag_expiring(record, now).await {
                        report.flagged += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Refreshes one user token if this replica can claim it.
    pub(super) async fn refresh_one(&self, stored: &StoredToken, now: i64) -> Refresh {
        let record = &stored.record;
        let key = record.key();
        let inner = &self.inner;
        let lease_until = now + i64::try_from(inner.settings.lease_secs).unwrap_or(60) * 1000;
        match inner
            .store
            .claim_token(key, &inner.instance, now, lease_until)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Refresh::Busy,
            Err(error) => {
                tracing::warn!(%error, "cannot claim a token refresh");
                return Refresh::Busy;
            }
        }
        let outcome = self.refresh_claimed(stored, now).await;
        if let Err(error) = inner.store.release_token(key, &inner.instance).await {
            tracing::debug!(%error, "token lease not released; it expires");
        }
        let label = match outcome {
            Refresh::Refreshed => "refreshed",
            Refresh::Failed => "failed",
            Refresh::Reconnect => "reconnect",
            Refresh::NotYet => "too_young",
            Refresh::Busy | Refresh::Skipped => return outcome,
        };
        inner
            .metrics
            .token_outcomes
            .with_label_values(&[record.kind.as_str(), label])
            .inc();
        outcome
    }

    async fn refresh_claimed(&self, stored: &StoredToken, now: i64) -> Refresh {
        let inner = &self.inner;
        let record = &stored.record;
        let key = record.key();
        let (Some(cipher), Ok(Some(fresh))) = (&inner.cipher, inner.store.token(key).await) else {
            return Refresh::Skipped;
        };
        if fresh.sealed != stored.sealed {
            // Refreshed by another caller since it was read.
            return Refresh::Refreshed;
        }
        match inner
            .store
            .account(&record.app_id, &record.account_id)
            .await
        {
            Ok(Some(account)) if account.snapshot.state == AccountState::Active => {}
            _ => return Refresh::Skipped,
        }
        if record.kind == TokenKind::Page {
            return Refresh::Skipped;
        }
        if record.kind == TokenKind::InstagramLogin
            && now - record.issued_at_ms < INSTAGRAM_MIN_AGE_MS
        {
            let when = record.issued_at_ms + INSTAGRAM_MIN_AGE_MS;
            let _ = inner
                .store
                .save_token_failure(key, record.failures, when, now)
                .await;
            return Refresh::NotYet;
        }
        if let Err(refused) = inner
            .gateway
            .check(&record.app_id, &record.account_id)
            .await
        {
            let when = refused
                .not_before_ms()
                .unwrap_or(now + backoff_ms(&inner.settings, 1));
            let _ = inner
                .store
                .save_token_failure(key, record.failures, when, now)
                .await;
            return Refresh::Skipped;
        }
        let token = match cipher.open(&row_context(record), &stored.sealed) {
            Ok(token) => token,
            Err(error) => {
                tracing::error!(%error, app_id = %record.app_id, account_id = %record.account_id, "a stored token cannot be decrypted");
                return Refresh::Skipped;
            }
        };
        self.transition(record, Trigger::RefreshStarted, "refresh_started", now)
            .await;
        let target = (
            record.app_id.as_str(),
            record.account_id.as_str(),
            record.kind,
        );
        match refresh(&inner.gateway, &inner.apps, target, &token, now).await {
            Ok(refreshed) => match cipher.seal(&row_context(record), &refreshed.token) {
                Ok(sealed) => {
                    let saved = inner
                        .store
                        .save_refreshed_token(
                            key,
                            &sealed,
                            refreshed.expires_at_ms.or(record.expires_at_ms),
                            now,
                        )
                        .await;
                    if saved.is_err() {
                        return self.failed(record, now).await;
                    }
                    self.transition(record, Trigger::RefreshCompleted, "refresh_completed", now)
                        .await;
                    tracing::info!(app_id = %record.app_id, account_id = %record.account_id, kind = record.kind.as_str(), "token refreshed");
                    Refresh::Refreshed
                }
                Err(_) => self.failed(record, now).await,
            },
            Err(TokenCallError::Gateway(GatewayError::Call(error)))
                if error.class == ErrorClass::Reconnect =>
            {
                // The gateway has flagged the account; the token is dead.
                let _ = inner
                    .store
                    .save_token_failure(key, record.failures + 1, i64::MAX / 2, now)
                    .await;
                Refresh::Reconnect
            }
            Err(error) => {
                tracing::warn!(%error, app_id = %record.app_id, account_id = %record.account_id, "token refresh failed; retrying later");
                self.failed(record, now).await
            }
        }
    }

    async fn failed(&self, record: &TokenRecord, now: i64) -> Refresh {
        let inner = &self.inner;
        let failures = record.failures + 1;
        let when = now + backoff_ms(&inner.settings, failures);
        let _ = inner
            .store
            .save_token_failure(record.key(), failures, when, now)
            .await;
        self.transition(record, Trigger::RefreshFailed, "refresh_failed", now)
            .await;
        Refresh::Failed
    }

    /// Flags the account of a token that expires inside the alert window; `true`
    /// when that changed its state.
    async fn flag_expiring(&self, record: &TokenRecord, now: i64) -> bool {
        let flagged = self
            .transition(record, Trigger::TokenExpiring, "token_expiring", now)
            .await
            .is_some();
        if flagged {
            tracing::warn!(app_id = %record.app_id, account_id = %record.account_id, kind = record.kind.as_str(), "token expires soon and was not refreshed; the account needs a reconnect");
            self.inner
                .metrics
                .token_outcomes
                .with_label_values(&[record.kind.as_str(), "expiring_flagged"])
                .inc();
        }
        flagged
    }

    /// Applies `trigger` to the token's account in a unit of work of its own.
    pub(super) async fn transition(
        &self,
        record: &TokenRecord,
        trigger: Trigger,
        what: &str,
        now: i64,
    ) -> Option<Transition> {
        let source = format!(
            "token/{}/{}/{}/{what}/{now}",
            record.app_id,
            record.account_id,
            record.kind.as_str()
        );
        match self
            .apply(&record.app_id, &record.account_id, trigger, &source, now)
            .await
        {
            Ok(transition) => transition,
            Err(error) => {
                tracing::warn!(%error, app_id = %record.app_id, account_id = %record.account_id, "cannot record an account change");
                None
            }
        }
    }

    /// Applies `trigger` to an account and queues its record.
    pub(super) async fn apply(
        &self,
        app_id: &str,
        account_id: &str,
        trigger: Trigger,
        source: &str,
        now: i64,
    ) -> Result<Option<Transition>, WorkError> {
        let inner = &self.inner;
        let mut uow = UnitOfWork::begin(&inner.store, &inner.topics, now).await?;
        let change = AccountChange {
            app_id,
            account_id,
            trigger,
            at_ms: now,
            source_id: source,
        };
        let transition = transition_account(&mut uow, &change).await?;
        let committed = uow.commit().await?;
        committed.report.record(&inner.metrics, now);
        if transition.is_some() {
            inner.relay.wake();
        }
        Ok(transition)
    }

    /// Audits a Page token with `debug_token`; `true` when Meta answered.
    async fn audit(&self, stored: &StoredToken, now: i64) -> bool {
        let inner = &self.inner;
        let record = &stored.record;
        let Some(cipher) = &inner.cipher else {
            return false;
        };
        let lease_until = now + i64::try_from(inner.settings.lease_secs).unwrap_or(60) * 1000;
        if !matches!(
            inner
                .store
                .claim_token(record.key(), &inner.instance, now, lease_until)
                .await,
            Ok(true)
        ) {
            return false;
        }
        let answered = match cipher.open(&row_context(record), &stored.sealed) {
            Ok(token) => {
                match super::meta::debug_token(&inner.gateway, &inner.apps, &record.app_id, &token)
                    .await
                {
                    Ok(inspection) => {
                        let outcome = if inspection.is_valid {
                            "audited"
                        } else {
                            let (code, subcode) = inspection.error.unwrap_or((Some(190), None));
                            let trigger = Trigger::GraphError {
                                http_status: Some(400),
                                code: code.or(Some(190)),
                                subcode,
                                is_transient: None,
                            };
                            self.transition(record, trigger, "audit", now).await;
                            "audit_invalid"
                        };
                        inner
                            .metrics
                            .token_outcomes
                            .with_label_values(&[record.kind.as_str(), outcome])
                            .inc();
                        let _ = inner.store.save_token_check(record.key(), now).await;
                        true
                    }
                    Err(error) => {
                        tracing::warn!(%error, app_id = %record.app_id, account_id = %record.account_id, "Page token audit failed; trying again next pass");
                        false
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, "a stored token cannot be decrypted");
                false
            }
        };
        let _ = inner
            .store
            .release_token(record.key(), &inner.instance)
            .await;
        answered
    }
}

/// How a refresh attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refresh {
    Refreshed,
    Failed,
    Reconnect,
    NotYet,
    Busy,
    Skipped,
}

/// The context a token's ciphertext is bound to.
pub(super) fn row_context(record: &TokenRecord) -> String {
    context(&record.app_id, &record.account_id, record.kind.as_str())
}

/// Each token's own offset into the jitter window, so refreshes spread out.
fn jitter_of(record: &TokenRecord, jitter_ms: i64) -> i64 {
    if jitter_ms <= 0 {
        return 0;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in row_context(record).bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    i64::try_from(hash % u64::try_from(jitter_ms).unwrap_or(1)).unwrap_or(0)
}

fn backoff_ms(settings: &TokenSettings, failures: i64) -> i64 {
    let initial = i64::try_from(settings.retry_initial_secs).unwrap_or(60) * 1000;
    let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    initial.saturating_mul(1_i64 << doublings).min(RETRY_MAX_MS)
}
