//! What tokens mean for their accounts: flagging an account whose token expires
//! unrefreshed, applying token triggers to accounts, auditing Page tokens.

use crate::apply::transitions::{transition_account, AccountChange};
use crate::domain::account::{Transition, Trigger};
use crate::domain::ids::{AccountId, AppId};
use crate::store::{StoredToken, TokenRecord};
use crate::unit_of_work::{UnitOfWork, WorkError};

use super::*;

impl TokenManager {
    /// Flags the account of a token that expires inside the alert window; `true`
    /// when that changed its state.
    pub(super) async fn flag_expiring(&self, record: &TokenRecord, now: i64) -> bool {
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
    #[tracing::instrument(name = "unit_of_work", skip_all, fields(
        app_id = %app_id, account_id = %account_id, source = %source,
    ))]
    pub(super) async fn apply(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
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
        uow.commit_and_wake(&inner.metrics).await?;
        Ok(transition)
    }

    /// Audits a Page token with `debug_token`; `true` when Meta answered.
    #[tracing::instrument(name = "token_audit", skip_all, fields(
        app_id = %stored.record.app_id, account_id = %stored.record.account_id,
    ))]
    pub(super) async fn audit(&self, stored: &StoredToken, now: i64) -> bool {
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
                match crate::tokens::meta::debug_token(
                    &inner.gateway,
                    &inner.apps,
                    &record.app_id,
                    &token,
                )
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
