//! The pre-rotation pass: refreshing user tokens ahead of expiry, one replica per
//! token, with backoff after failures.

use graphhook_graph::answer::Action;
use graphhook_schema::account::AccountState;

use crate::domain::account::Trigger;
use crate::gateway::GatewayError;
use crate::store::{StoreError, StoredToken, TokenRecord};
use crate::tokens::meta::{refresh, TokenCallError};
use crate::tokens::{TokenKind, TokenSettings};

use super::*;

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

impl TokenManager {
    /// One pass of the pre-rotation job at the clock's time: refreshes user tokens
    /// entering their refresh window, audits Page tokens due for it, and flags the
    /// accounts of tokens still unrefreshed inside the alert window.
    #[tracing::instrument(name = "token_pass", skip_all)]
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
    #[tracing::instrument(name = "token_refresh", skip_all, fields(
        app_id = %stored.record.app_id, account_id = %stored.record.account_id,
        kind = stored.record.kind.as_str(),
    ))]
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

    pub(super) async fn refresh_claimed(&self, stored: &StoredToken, now: i64) -> Refresh {
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
        let target = (&record.app_id, &record.account_id, record.kind);
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
                if matches!(error.action(), Action::Reconnect(_)) =>
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

    pub(super) async fn failed(&self, record: &TokenRecord, now: i64) -> Refresh {
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
