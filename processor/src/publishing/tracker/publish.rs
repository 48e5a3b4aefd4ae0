//! Publishing a ready container: the quota, `media_publish` written as sent
//! before it is called, and reconciling an outcome nobody knows.

use graphhook_graph::answer::Action;
use graphhook_schema::output::{FailureClass, PublishStatus};

use crate::publishing::meta::ContainerStatus;
use crate::publishing::PublishingSettings;
use crate::tokens::manager::Credentials;

use super::step::*;
use super::Tracker;

impl Tracker {
    /// Publishes a ready container (quota first), at most once unless a status
    /// read showed it unpublished.
    pub(super) async fn publish(&self, step: &mut Step) {
        if !step.p.publish {
            return;
        }
        if let Some(not_before) = step.p.request.not_before_ms.filter(|t| *t > step.now) {
            step.p.next_action_at_ms = not_before;
            return;
        }
        let Some(credentials) = self.credentials(step).await else {
            return;
        };
        let Some(container) = step.p.container_id.clone() else {
            return;
        };
        match self.quota_free(step, &credentials).await {
            Some(true) => {}
            Some(false) => {
                step.enter(PublishStatus::QuotaWait, Some("quota_full"));
                step.p.next_action_at_ms =
                    step.now + PublishingSettings::ms(self.inner.settings.quota_recheck_secs);
                return;
            }
            None => return,
        }
        step.p.publish_sent = true;
        step.enter(PublishStatus::Publishing, None);
        if !self.save(step).await {
            return;
        }
        step.p.calls += 1;
        let result = self
            .caller(step, &credentials)
            .media_publish(&container)
            .await;
        match result {
            Ok(media_id) => {
                step.p.media_id = Some(media_id);
                step.enter(PublishStatus::Published, None);
            }
            Err(error) => {
                let failed = failed(error);
                match &failed {
                    Failed::Call {
                        action: Action::NotReady,
                        ..
                    } => {
                        step.p.publish_sent = false;
                        step.enter(PublishStatus::Ready, Some("media_not_ready"));
                        step.p.next_action_at_ms = step.now
                            + PublishingSettings::ms(self.inner.settings.not_ready_retry_secs);
                    }
                    Failed::Call {
                        action: Action::FixRequest,
                        code,
                        subcode,
                        text,
                    } => {
                        step.p.publish_sent = false;
                        step.fail(FailureClass::FixRequest, *code, *subcode, text.clone());
                    }
                    Failed::Call {
                        action: Action::QuotaFull,
                        ..
                    } => {
                        // The daily quota, used up meanwhile: refused, not published.
                        step.p.publish_sent = false;
                        self.forget_quota(step);
                        step.enter(PublishStatus::QuotaWait, Some("quota_full"));
                        step.p.next_action_at_ms = step.now
                            + PublishingSettings::ms(self.inner.settings.quota_recheck_secs);
                    }
                    Failed::Call {
                        action: Action::Reconnect(_),
                        ..
                    }
                    | Failed::Budget { .. } => {
                        // Refused before publishing (or never sent): nothing went out.
                        step.p.publish_sent = false;
                        step.enter(PublishStatus::Ready, None);
                        self.common_failure(step, &failed);
                    }
                    Failed::Call { .. } => {
                        step.enter(PublishStatus::OutcomeUnknown, None);
                        step.p.next_action_at_ms = step.now
                            + PublishingSettings::ms(self.inner.settings.first_read_after_secs);
                    }
                }
            }
        }
    }

    /// `Some(true)` when a slot is free, `Some(false)` when the quota is full,
    /// `None` when it could not be read (retried). A read is reused for
    /// `quota_cache_secs`, counting this replica's publishes since, unless it is
    /// within a fifth of the allowance: then it is read again. A quota used up by
    /// others meanwhile costs nothing: the publish is refused (9 / 2207042) and
    /// waits.
    pub(super) async fn quota_free(
        &self,
        step: &mut Step,
        credentials: &Credentials,
    ) -> Option<bool> {
        let inner = &self.inner;
        let key = (step.p.app_id.clone(), step.p.account_id.clone());
        let fresh = PublishingSettings::ms(inner.settings.quota_cache_secs);
        let cached = inner
            .quota
            .lock()
            .ok()
            .and_then(|q| q.get(&key).copied())
            .filter(|(at, usage, total)| {
                let age = step.now - at;
                // A read of the last minute is used as is (a step spaced out by the
                // call budget must not read it again before every publish).
                let recent = age < 60_000 && usage < total;
                recent
                    || (age < fresh
                        && usage * 5 < total * 4
                        && step.p.state != PublishStatus::QuotaWait)
            });
        let (usage, total) = match cached {
            Some((_, usage, total)) => (usage, total),
            None => {
                step.p.calls += 1;
                match self.caller(step, credentials).quota().await {
                    Ok(quota) => quota,
                    Err(error) => {
                        let failed = failed(error);
                        if !self.common_failure(step, &failed) {
                            step.p.next_action_at_ms = step.now + self.retry_ms(1);
                        }
                        return None;
                    }
                }
            }
        };
        let free = usage < total;
        if let Ok(mut quota) = inner.quota.lock() {
            // A publish uses a slot: count it until the next read.
            let after = if free { usage + 1 } else { usage };
            quota.insert(key, (step.now, after, total));
        }
        Some(free)
    }

    pub(super) fn forget_quota(&self, step: &Step) {
        if let Ok(mut quota) = self.inner.quota.lock() {
            quota.remove(&(step.p.app_id.clone(), step.p.account_id.clone()));
        }
    }

    /// Resolves a publish whose outcome is unknown with a status read.
    pub(super) async fn reconcile(&self, step: &mut Step) {
        let Some(credentials) = self.credentials(step).await else {
            return;
        };
        let Some(container) = step.p.container_id.clone() else {
            step.fail(FailureClass::UnknownOutcome, None, None, None);
            return;
        };
        step.p.calls += 1;
        let result = self
            .caller(step, &credentials)
            .container_status(&container)
            .await;
        match result {
            Ok(ContainerStatus::Published) => {
                step.p.publish_sent = false;
                step.enter(PublishStatus::Published, Some("reconciled"));
            }
            Ok(ContainerStatus::Finished) => {
                // Shown unpublished: publishing it again cannot post twice.
                step.p.publish_sent = false;
                step.enter(PublishStatus::Ready, Some("reconciled"));
                step.p.next_action_at_ms = step.now;
            }
            Ok(ContainerStatus::InProgress) => {
                step.p.publish_sent = false;
                step.enter(PublishStatus::Processing, Some("reconciled"));
                step.p.next_action_at_ms = step.now + self.retry_ms(1);
            }
            Ok(ContainerStatus::Expired) => step.enter(PublishStatus::Expired, Some("reconciled")),
            Ok(ContainerStatus::Error { subcode, text }) => {
                step.fail(FailureClass::UnknownOutcome, None, subcode, text)
            }
            Err(error) => {
                let failed = failed(error);
                if !self.common_failure(step, &failed) {
                    step.p.next_action_at_ms = step.now + self.retry_ms(step.p.reads.max(1));
                    step.p.reads += 1;
                }
            }
        }
    }

    /// A held publication goes back where it was once the account is active and
    /// the budget lets it.
    pub(super) async fn resume(&self, step: &mut Step) {
        let recheck = step.now + PublishingSettings::ms(self.inner.settings.held_recheck_secs);
        if self.credentials(step).await.is_none() {
            return;
        }
        if let Err(refused) = self
            .inner
            .gateway
            .check(&step.p.app_id, &step.p.account_id)
            .await
        {
            step.p.next_action_at_ms = refused.not_before_ms().unwrap_or(recheck);
            return;
        }
        let back = step.p.held_from.take().unwrap_or(PublishStatus::Requested);
        step.enter(back, Some("resumed"));
        step.p.next_action_at_ms = step.now;
    }
}
