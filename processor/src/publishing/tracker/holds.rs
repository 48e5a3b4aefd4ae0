//! When a publication cannot go on now: it is held (account not active, budget
//! held), retried later, or spaced out by the call budget; and the account's
//! token for the step's calls.

use graphhook_schema::graph_error::ErrorClass;
use graphhook_schema::output::PublishStatus;
use graphhook_schema::publishing::PublicationKind;

use super::step::{Failed, Step};
use super::Tracker;
use crate::publishing::meta::Caller;
use crate::publishing::PublishingSettings;
use crate::tokens::manager::{Credentials, CredentialsError};
use crate::tokens::TokenKind;

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
            Err(_) => {
                self.hold(
                    step,
                    "account_not_active",
                    step.now + PublishingSettings::ms(self.inner.settings.held_recheck_secs),
                );
                None
            }
        }
    }

    /// Holds the publication (remembering the state it was in) until `until_ms`.
    pub(super) fn hold(&self, step: &mut Step, reason: &'static str, until_ms: i64) {
        if step.p.state != PublishStatus::Held {
            step.p.held_from = Some(step.p.state);
            step.enter(PublishStatus::Held, Some(reason));
        }
        step.p.next_action_at_ms = until_ms;
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
            } => self.hold(step, "budget_held", *until_ms),
            Failed::Budget {
                held: false,
                until_ms,
            } => step.p.next_action_at_ms = *until_ms,
            Failed::Call {
                class: ErrorClass::Reconnect,
                ..
            } => self.hold(
                step,
                "account_not_active",
                step.now + PublishingSettings::ms(self.inner.settings.held_recheck_secs),
            ),
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
