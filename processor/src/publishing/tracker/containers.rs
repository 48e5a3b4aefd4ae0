//! Containers: creating them (carousel items first) and reading their status on
//! Meta's schedule.

use graphhook_graph::answer::Action;
use graphhook_schema::output::{FailureClass, PublishStatus};
use graphhook_schema::publishing::PublicationKind;

use graphhook_graph::answer::{container_failure, ContainerFailure};

use crate::domain::ids::ContainerId;
use crate::domain::publication::Publication;
use crate::publishing::meta::ContainerStatus;
use crate::tokens::manager::Credentials;

use super::step::*;
use super::Tracker;

impl Tracker {
    /// Creates the container (children first, for a carousel).
    pub(super) async fn create(&self, step: &mut Step) {
        if let Some(existing) = step.p.request.container_id.clone() {
            step.p.container_id = Some(ContainerId::from(existing));
            step.p.container_created_at_ms = Some(step.now);
            step.p.reads = 0;
            step.enter(PublishStatus::ContainerCreated, Some("tracking"));
            step.p.next_action_at_ms = step.now;
            return;
        }
        let Some(credentials) = self.credentials(step).await else {
            return;
        };
        if step.p.kind == PublicationKind::Carousel
            && !self.children_ready(step, &credentials).await
        {
            return;
        }
        let params = container_params(&step.p);
        step.p.calls += 1;
        let result = self
            .caller(step, &credentials)
            .create_container(&params)
            .await;
        match result {
            Ok(id) => {
                step.p.container_id = Some(id);
                step.p.attempts += 1;
                step.p.reads = 0;
                step.p.container_created_at_ms = Some(step.now);
                step.p.last_not_ready_at_ms = None;
                step.enter(PublishStatus::ContainerCreated, None);
                step.p.next_action_at_ms = self.inner.settings.schedule().next_read_at(step.now, 0);
            }
            Err(error) => {
                let failed = failed(error);
                if self.common_failure(step, &failed) {
                    return;
                }
                if let Failed::Call {
                    action: Action::FixRequest,
                    code,
                    subcode,
                    text,
                } = failed
                {
                    step.fail(FailureClass::FixRequest, code, subcode, text);
                } else {
                    // Nothing publishable exists yet: creating again is harmless.
                    step.p.next_action_at_ms = step.now + self.retry_ms(step.p.calls);
                }
            }
        }
    }

    /// Creates and follows a carousel's items; `true` once all are finished.
    pub(super) async fn children_ready(&self, step: &mut Step, credentials: &Credentials) -> bool {
        let schedule = self.inner.settings.schedule();
        for index in 0..step.p.children.len() {
            if step.p.children[index].finished {
                continue;
            }
            step.p.calls += 1;
            let caller = self.caller(step, credentials);
            let outcome = match step.p.children[index].id.clone() {
                None => match caller.create_container(&child_params(&step.p, index)).await {
                    Ok(id) => ChildStep::Created(id),
                    Err(error) => ChildStep::Failed(error),
                },
                Some(id) => match caller.container_status(&id).await {
                    Ok(ContainerStatus::Finished) => ChildStep::Finished,
                    Ok(ContainerStatus::InProgress) => ChildStep::NotYet,
                    Ok(ContainerStatus::Error { subcode, text }) => {
                        return self.child_failed(step, subcode, text)
                    }
                    Ok(_) => ChildStep::Gone,
                    Err(error) => ChildStep::Failed(error),
                },
            };
            match outcome {
                ChildStep::Created(id) => {
                    step.p.children[index].id = Some(id);
                    step.p.next_action_at_ms = schedule.next_read_at(step.now, 0);
                    return false;
                }
                ChildStep::Finished => step.p.children[index].finished = true,
                ChildStep::NotYet => {
                    step.p.children[index].reads += 1;
                    let reads = step.p.children[index].reads;
                    let interval =
                        schedule.next_read_at(0, reads) - schedule.next_read_at(0, reads - 1);
                    step.p.next_action_at_ms = step.now + interval;
                    return false;
                }
                ChildStep::Gone => {
                    step.p.children[index] = Default::default();
                    step.p.next_action_at_ms = step.now;
                    return false;
                }
                ChildStep::Failed(error) => {
                    let failed = failed(error);
                    if !self.common_failure(step, &failed) {
                        if let Failed::Call {
                            action: Action::FixRequest,
                            code,
                            subcode,
                            text,
                        } = failed
                        {
                            step.fail(FailureClass::FixRequest, code, subcode, text);
                        } else {
                            step.p.next_action_at_ms = step.now + self.retry_ms(step.p.calls);
                        }
                    }
                    return false;
                }
            }
        }
        true
    }

    pub(super) fn child_failed(
        &self,
        step: &mut Step,
        subcode: Option<i64>,
        text: Option<String>,
    ) -> bool {
        match container_failure(subcode, step.p.attempts) {
            ContainerFailure::Input => step.fail(FailureClass::FixRequest, None, subcode, text),
            _ if step.p.attempts + 1
                >= i64::try_from(self.inner.settings.max_containers).unwrap_or(3) =>
            {
                step.fail(FailureClass::RetriedOut, None, subcode, text)
            }
            _ => {
                step.p.attempts += 1;
                step.p.children = vec![Default::default(); step.p.children.len()];
                step.p.next_action_at_ms = step.now;
            }
        }
        false
    }

    /// Reads the container's status on Meta's schedule.
    pub(super) async fn read_status(&self, step: &mut Step) {
        let Some(credentials) = self.credentials(step).await else {
            return;
        };
        let Some(container) = step.p.container_id.clone() else {
            step.enter(PublishStatus::Requested, Some("new_container"));
            step.p.next_action_at_ms = step.now;
            return;
        };
        step.p.calls += 1;
        step.p.reads += 1;
        let result = self
            .caller(step, &credentials)
            .container_status(&container)
            .await;
        let schedule = self.inner.settings.schedule();
        let created = step.p.container_created_at_ms.unwrap_or(step.now);
        match result {
            Ok(ContainerStatus::InProgress) => {
                step.p.last_not_ready_at_ms = Some(step.now);
                step.enter(PublishStatus::Processing, None);
                step.p.next_action_at_ms = schedule
                    .next_read_at(created, step.p.reads)
                    .max(step.now + 1);
            }
            Ok(ContainerStatus::Finished) => {
                step.p.ready_at_ms = Some(step.now);
                step.enter(PublishStatus::Ready, None);
                step.p.next_action_at_ms = if step.p.publish {
                    step.now
                } else {
                    created + schedule.lifetime_ms
                };
            }
            Ok(ContainerStatus::Published) => {
                step.enter(PublishStatus::Published, Some("published_elsewhere"));
            }
            Ok(ContainerStatus::Expired) => step.enter(PublishStatus::Expired, None),
            Ok(ContainerStatus::Error { subcode, text }) => {
                self.container_error(step, subcode, text)
            }
            Err(error) => {
                let failed = failed(error);
                if !self.common_failure(step, &failed) {
                    // A fresh container that cannot be read (100/33, for days at a
                    // time) is neither a token problem nor a reason for a new
                    // container: read it again later, on the schedule.
                    step.p.next_action_at_ms = schedule
                        .next_read_at(created, step.p.reads)
                        .max(step.now + self.retry_ms(1));
                }
            }
        }
    }

    pub(super) fn container_error(
        &self,
        step: &mut Step,
        subcode: Option<i64>,
        text: Option<String>,
    ) {
        let max = i64::try_from(self.inner.settings.max_containers).unwrap_or(3);
        match container_failure(subcode, step.p.attempts) {
            ContainerFailure::Input => step.fail(FailureClass::FixRequest, None, subcode, text),
            ContainerFailure::Gone if step.p.reads < 3 => {
                step.p.next_action_at_ms = step.now + 60_000;
            }
            _ if step.p.attempts >= max => step.fail(FailureClass::RetriedOut, None, subcode, text),
            _ => {
                step.p.container_id = None;
                step.p.container_created_at_ms = None;
                step.p.children = vec![Default::default(); step.p.children.len()];
                step.enter(PublishStatus::Requested, Some("new_container"));
                step.p.next_action_at_ms = step.now;
            }
        }
    }
}

/// The form of a container for `p` (not a carousel item).
fn container_params(p: &Publication) -> Vec<(String, String)> {
    let r = &p.request;
    let mut params: Vec<(String, String)> = r
        .options
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match p.kind {
        PublicationKind::Image => {
            params.push(("image_url".into(), r.image_url.clone().unwrap_or_default()))
        }
        PublicationKind::Reel => {
            params.push(("media_type".into(), "REELS".into()));
            params.push(("video_url".into(), r.video_url.clone().unwrap_or_default()));
        }
        PublicationKind::Story => {
            params.push(("media_type".into(), "STORIES".into()));
            match (&r.image_url, &r.video_url) {
                (Some(image), _) => params.push(("image_url".into(), image.clone())),
                (None, Some(video)) => params.push(("video_url".into(), video.clone())),
                (None, None) => {}
            }
        }
        PublicationKind::Carousel => {
            params.push(("media_type".into(), "CAROUSEL".into()));
            let ids: Vec<String> = p
                .children
                .iter()
                .filter_map(|c| c.id.as_deref().map(str::to_owned))
                .collect();
            params.push(("children".into(), ids.join(",")));
        }
        PublicationKind::PagePost => {}
    }
    if p.kind != PublicationKind::Story {
        if let Some(caption) = &r.caption {
            params.push(("caption".into(), caption.clone()));
        }
    }
    params
}

/// The form of carousel item `index`.
fn child_params(p: &Publication, index: usize) -> Vec<(String, String)> {
    let mut params = vec![("is_carousel_item".to_owned(), "true".to_owned())];
    if let Some(child) = p.request.children.get(index) {
        if let Some(image) = &child.image_url {
            params.push(("image_url".into(), image.clone()));
        }
        if let Some(video) = &child.video_url {
            params.push(("media_type".into(), "VIDEO".into()));
            params.push(("video_url".into(), video.clone()));
        }
    }
    params
}
