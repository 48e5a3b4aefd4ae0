//! Page posts: published through the Page, confirmed by their `feed` webhook or,
//! without one, by a single read.

use graphhook_graph::answer::Action;
use graphhook_schema::output::{FailureClass, PublishStatus};

use crate::publishing::PublishingSettings;

use super::step::*;
use super::Tracker;

impl Tracker {
    /// A Page post: published through the Page; confirmed by its `feed` webhook,
    /// read once only when none came in time.
    pub(super) async fn page_post(&self, step: &mut Step) {
        match step.p.state {
            PublishStatus::Requested => {}
            PublishStatus::Held => return self.resume(step).await,
            PublishStatus::Publishing | PublishStatus::OutcomeUnknown => {
                return self.confirm_post(step).await
            }
            _ => return,
        }
        if let Some(not_before) = step.p.request.not_before_ms.filter(|t| *t > step.now) {
            step.p.next_action_at_ms = not_before;
            return;
        }
        let Some(credentials) = self.credentials(step).await else {
            return;
        };
        step.p.publish_sent = true;
        step.enter(PublishStatus::Publishing, None);
        if !self.save(step).await {
            return;
        }
        step.p.calls += 1;
        let request = step.p.request.clone();
        let result = self
            .caller(step, &credentials)
            .page_post(
                request.message.as_deref(),
                request.link.as_deref(),
                request.image_url.as_deref(),
            )
            .await;
        let confirm = step.now + PublishingSettings::ms(self.inner.settings.page_post_confirm_secs);
        match result {
            Ok(post_id) => {
                // The webhook may have come before this answer.
                let confirmed = self
                    .inner
                    .store
                    .page_post_published(&step.p.app_id, &post_id)
                    .await
                    .unwrap_or(false);
                step.p.post_id = Some(post_id);
                if confirmed {
                    step.p.publish_sent = false;
                    step.enter(PublishStatus::Published, Some("webhook"));
                } else {
                    step.p.next_action_at_ms = confirm;
                }
            }
            Err(error) => {
                let failed = failed(error);
                match &failed {
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
                        action: Action::Reconnect(_),
                        ..
                    }
                    | Failed::Budget { .. } => {
                        step.p.publish_sent = false;
                        step.enter(PublishStatus::Requested, None);
                        self.common_failure(step, &failed);
                    }
                    Failed::Call { .. } => {
                        // The post may exist; without its id only its webhook tells.
                        step.enter(PublishStatus::OutcomeUnknown, None);
                        step.p.next_action_at_ms = confirm;
                    }
                }
            }
        }
    }

    /// No webhook came in time: reads the post once (or, without its id, gives the
    /// outcome up as unknown; it is never posted twice).
    pub(super) async fn confirm_post(&self, step: &mut Step) {
        let Some(post_id) = step.p.post_id.clone() else {
            step.fail(
                FailureClass::UnknownOutcome,
                None,
                None,
                Some("no webhook confirmed the post".into()),
            );
            return;
        };
        let Some(credentials) = self.credentials(step).await else {
            return;
        };
        step.p.calls += 1;
        match self
            .caller(step, &credentials)
            .page_post_published(&post_id)
            .await
        {
            Ok(true) => step.enter(PublishStatus::Published, Some("read")),
            Ok(false) => step.fail(
                FailureClass::UnknownOutcome,
                None,
                None,
                Some("the post is not published".into()),
            ),
            Err(error) => {
                let failed = failed(error);
                if let Failed::Call {
                    action: Action::FixRequest,
                    code,
                    subcode,
                    ..
                } = failed
                {
                    step.fail(
                        FailureClass::UnknownOutcome,
                        code,
                        subcode,
                        Some("the post cannot be read".into()),
                    );
                } else if !self.common_failure(step, &failed) {
                    step.p.next_action_at_ms = step.now + self.retry_ms(1);
                }
            }
        }
    }
}
