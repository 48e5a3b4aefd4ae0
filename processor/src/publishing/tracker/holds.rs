//! When a publication cannot go on now: it is held (account not active, budget
//! held), retried later, or spaced out by the call budget; and the account's
//! token for the step's calls.

use graphhook_graph::answer::Action;
use graphhook_schema::output::PublishStatus;
use graphhook_schema::publishing::PublicationKind;

use super::step::{Failed, Step};
use super::Tracker;
use crate::publishing::intake::Change;
use crate::publishing::meta::Caller;
use crate::publishing::PublishingSettings;
use crate::tokens::manager::{Credentials, CredentialsError};
use crate::tokens::TokenKind;

/// One line when a publication is held for want of a token: ERROR where only
/// the operator can help (a key removed from `tokens.keys`, no keys at all),
/// WARN where the account's owner must reconnect or register a token.
fn log_hold(step: &Step, reason: &'static str, error: &CredentialsError) {
    let p = &step.p;
    match error {
        CredentialsError::NotConfigured | CredentialsError::Unreadable(_) => tracing::error!(
            app_id = %p.app_id, account_id = %p.account_id, request_id = %p.request_id, reason, %error,
            "publication held: the account's token cannot be used until the operator fixes [tokens]"
        ),
        _ => tracing::warn!(
            app_id = %p.app_id, account_id = %p.account_id, request_id = %p.request_id, reason, %error,
            "publication held until the account has a usable token"
        ),
    }
}

impl Tracker {
    /// The account's token, or the publication is held.
    pub(super) async fn credentials(&self, step: &mut Step) -> Option<Credentials> {
        let tokens = &self.inner.tokens;
        let (app, account) = (step.p.app_id.clone(), step.p.account_id.clone());
        let found = if step.p.kind == PublicationKind::PagePost {
            tokens.credentials_of(&app, &account, TokenKind::Page).await
        } else {
            tokens.credentials(&app, &account).await
        };
        match found {
            Ok(credentials) => Some(credentials),
            Err(CredentialsError::Store(error)) => {
                tracing::warn!(%error, "cannot read the account's token");
                step.p.next_action_at_ms = step.now + self.retry_ms(1);
                None
            }
            Err(error) => {
                let reason = error.reason();
                let recheck = PublishingSettings::ms(self.inner.settings.held_recheck_secs);
                if self.hold(step, reason, step.now + recheck) {
                    log_hold(step, reason, &error);
                }
                None
            }
        }
    }

    /// Holds the publication (remembering the state it was in) until `until_ms`;
    /// `true` when that is news (it was not held, or held for another reason),
    /// which writes a `held` record with the reason.
    pub(super) fn hold(&self, step: &mut Step, reason: &'static str, until_ms: i64) -> bool {
        step.p.next_action_at_ms = until_ms;
        if step.p.state != PublishStatus::Held {
            step.p.held_from = Some(step.p.state);
            step.enter(PublishStatus::Held, Some(reason));
            return true;
        }
        if step.p.reason.as_deref() != Some(reason) {
            step.p.reason = Some(reason.to_owned());
            step.changes.push(Change {
                status: PublishStatus::Held,
                reason: Some(reason),
            });
            return true;
        }
        false
    }

    /// The wait before retry `attempt`: doubling from `retry_initial_secs`, at
    /// most `poll_cap_secs`.
    pub(super) fn retry_ms(&self, attempt: i64) -> i64 {
        let initial = PublishingSettings::ms(self.inner.settings.retry_initial_secs);
        let shift = u32::try_from(attempt.clamp(1, 10) - 1).unwrap_or(0);
        initial
            .saturating_mul(1 << shift)
            .min(PublishingSettings::ms(self.inner.settings.poll_cap_secs))
    }

    /// Handles a call that failed in a way every call shares: the budget (space
    /// out, or hold), a reconnect-class answer (hold: the gateway flagged the
    /// account), or a transient failure (retry later). `true` when handled.
    pub(super) fn common_failure(&self, step: &mut Step, failed: &Failed) -> bool {
        match failed {
            Failed::Budget {
                held: true,
                until_ms,
            } => {
                self.hold(step, "budget_held", *until_ms);
            }
            Failed::Budget {
                held: false,
                until_ms,
            } => step.p.next_action_at_ms = *until_ms,
            Failed::Call {
                action: Action::Reconnect(_),
                ..
            } => {
                let recheck = PublishingSettings::ms(self.inner.settings.held_recheck_secs);
                self.hold(step, "account_not_active", step.now + recheck);
            }
            _ => return false,
        }
        true
    }

    /// The Graph calls of this step, made for its account with `credentials`.
    pub(super) fn caller<'a>(&'a self, step: &'a Step, credentials: &'a Credentials) -> Caller<'a> {
        Caller {
            gateway: &self.inner.gateway,
            app_id: &step.p.app_id,
            account_id: &step.p.account_id,
            credentials,
        }
    }
}
