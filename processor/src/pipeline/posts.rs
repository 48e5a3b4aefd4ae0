//! The Page-post statuses of a run of events, written before its events are handled
//! one by one: one statement for the run instead of one or two per `feed` event,
//! and one lookup of the publications they confirm instead of one per published
//! post. A data-deletion request erases Page posts, so it ends a segment: the
//! statuses after it are written once it has been carried out, and those before
//! it were written before, exactly as one event at a time would.

use std::collections::HashSet;
use std::ops::Range;

use graphhook_schema::output::PublishStatus;

use crate::domain::account::Trigger;
use crate::domain::plan::Planned;
use crate::store::PostStatus;
use crate::unit_of_work::{UnitOfWork, WorkError};

/// What the written segment of a run did to Page posts.
#[derive(Debug, Default)]
pub struct RunPosts {
    segment: Range<usize>,
    changed: HashSet<usize>,
    being_published: HashSet<(String, String)>,
}

/// Whether the event erases data (and so begins a segment).
fn erases(planned: &Planned) -> bool {
    matches!(
        &planned.1.trigger,
        Some((Trigger::DataDeletionRequested, _))
    )
}

impl RunPosts {
    /// Whether the statuses of event `index` are written already.
    pub fn covers(&self, index: usize) -> bool {
        self.segment.contains(&index)
    }

    /// Writes the statuses of the new events from `from` up to the next data
    /// deletion request after it.
    pub async fn write_from(
        &mut self,
        uow: &mut UnitOfWork<'_>,
        events: &[Planned],
        new: &[bool],
        from: usize,
    ) -> Result<(), WorkError> {
        let end = (from + 1..events.len())
            .find(|&index| new[index] && erases(&events[index]))
            .unwrap_or(events.len());
        let mut indexes = Vec::new();
        let mut rows = Vec::new();
        for index in from..end {
            let (event, plan) = &events[index];
            if let (true, Some(status)) = (new[index], &plan.post) {
                indexes.push(index);
                let post = PostStatus {
                    post_id: &status.object_id,
                    item: status.item.as_deref(),
                    status: status.status,
                    at_ms: status.occurred_at_ms,
                };
                rows.push((event.app_id.as_str(), event.account_id.as_str(), post));
            }
        }
        let changed = uow.tx.update_post_statuses(&rows).await?;
        let published: Vec<(&str, &str)> = rows
            .iter()
            .zip(&changed)
            .filter(|((_, _, post), changed)| **changed && post.status == PublishStatus::Published)
            .map(|((app_id, _, post), _)| (*app_id, post.post_id))
            .collect();
        self.being_published = if published.is_empty() {
            HashSet::new()
        } else {
            uow.tx.posts_being_published(&published).await?
        };
        self.changed = indexes
            .into_iter()
            .zip(changed)
            .filter_map(|(index, changed)| changed.then_some(index))
            .collect();
        self.segment = from..end;
        Ok(())
    }

    /// Whether event `index` changed its post's stored status (it emits a record).
    pub fn changed(&self, index: usize) -> bool {
        self.changed.contains(&index)
    }

    /// Whether a publication not done yet made this post (when it was found
    /// published in this segment).
    pub fn being_published(&self, app_id: &str, post_id: &str) -> bool {
        self.being_published
            .contains(&(app_id.to_owned(), post_id.to_owned()))
    }
}
