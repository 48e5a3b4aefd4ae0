//! Publications: what one is, Meta's polling schedule, and what a container's
//! failure asks for. Pure; the tracker (`publishing::tracker`) applies it.

use graphhook_schema::output::{PublicationError, PublishStatus};
use graphhook_schema::publishing::{PublicationKind, PublishRequest};
use serde::{Deserialize, Serialize};

use super::ids::{AccountId, AppId, ContainerId, MediaId, RequestId};

/// A carousel item's container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Child {
    /// The item's container, once created.
    pub id: Option<ContainerId>,
    /// Whether Meta finished processing it.
    pub finished: bool,
    /// Status reads of it so far.
    pub reads: i64,
}

/// A publication as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    /// Meta's app id.
    pub app_id: AppId,
    /// The Instagram account or Page.
    pub account_id: AccountId,
    /// The client's id.
    pub request_id: RequestId,
    /// What it publishes.
    pub kind: PublicationKind,
    /// The request as accepted.
    pub request: PublishRequest,
    /// Publish once ready (`false`: track only, until a second call).
    pub publish: bool,
    /// Where it is.
    pub state: PublishStatus,
    /// For `held`: the state to go back to.
    pub held_from: Option<PublishStatus>,
    /// The current container.
    pub container_id: Option<ContainerId>,
    /// A carousel's items.
    pub children: Vec<Child>,
    /// The published media (Instagram), when known.
    pub media_id: Option<MediaId>,
    /// The Page post, for `page_post`.
    pub post_id: Option<String>,
    /// `media_publish` (or the Page post) was sent and its answer is not known to
    /// say it failed: it must not be sent again before a status read.
    pub publish_sent: bool,
    /// Why it failed.
    pub error: Option<PublicationError>,
    /// Containers created.
    pub attempts: i64,
    /// Status reads of the current container.
    pub reads: i64,
    /// Graph API calls made for it.
    pub calls: i64,
    /// When it was requested, epoch ms.
    pub created_at_ms: i64,
    /// When its container was created (or tracking began), epoch ms.
    pub container_created_at_ms: Option<i64>,
    /// The last status read that found it not ready, epoch ms.
    pub last_not_ready_at_ms: Option<i64>,
    /// When it was found ready, epoch ms.
    pub ready_at_ms: Option<i64>,
    /// When it reached its end, epoch ms.
    pub done_at_ms: Option<i64>,
    /// When the tracker acts on it next, epoch ms.
    pub next_action_at_ms: i64,
    /// The fencing value of the current lease.
    pub fence: i64,
    /// Why it entered its state, when the state says less than an operator
    /// needs (`token_unreadable`, `budget_held`, `reconciled`, ...).
    pub reason: Option<String>,
}

impl Publication {
    /// A new publication for an accepted request.
    pub fn requested(request: PublishRequest, now_ms: i64) -> Self {
        let children = vec![Child::default(); request.children.len()];
        let next = request.not_before_ms.unwrap_or(now_ms).max(now_ms);
        Publication {
            app_id: AppId::from(&request.app_id),
            account_id: AccountId::from(&request.account_id),
            request_id: RequestId::from(&request.request_id),
            kind: request.kind,
            publish: request.publish,
            state: PublishStatus::Requested,
            held_from: None,
            container_id: None,
            children,
            media_id: None,
            post_id: None,
            publish_sent: false,
            error: None,
            attempts: 0,
            reads: 0,
            calls: 0,
            created_at_ms: now_ms,
            container_created_at_ms: None,
            last_not_ready_at_ms: None,
            ready_at_ms: None,
            done_at_ms: None,
            next_action_at_ms: if request.container_id.is_some() {
                now_ms
            } else {
                next
            },
            fence: 0,
            reason: None,
            request,
        }
    }
}

/// Meta's schedule for container status reads: a first read shortly after
/// creation, then once a minute for five minutes, then intervals growing by
/// `backoff` each read up to a cap, until the container's 24-hour lifetime ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// The first read, after creation, ms.
    pub first_read_ms: i64,
    /// The steady interval, ms.
    pub interval_ms: i64,
    /// How many reads at the steady interval.
    pub steady_reads: i64,
    /// Then each interval is the last one times this (at least 1).
    pub backoff: f64,
    /// The longest interval, ms.
    pub cap_ms: i64,
    /// A container's lifetime, ms.
    pub lifetime_ms: i64,
}

impl Schedule {
    /// When the read after `reads_done` reads of a container created at
    /// `created_at_ms` is due.
    pub fn next_read_at(&self, created_at_ms: i64, reads_done: i64) -> i64 {
        let first = created_at_ms + self.first_read_ms;
        if reads_done <= self.steady_reads {
            return first + reads_done * self.interval_ms;
        }
        let mut at = first + self.steady_reads * self.interval_ms;
        let mut interval = self.interval_ms as f64;
        for _ in self.steady_reads..reads_done {
            interval = (interval * self.backoff.max(1.0)).min(self.cap_ms as f64);
            at += interval.round() as i64;
        }
        at
    }

    /// The most status reads a container can cost in its lifetime.
    pub fn max_reads(&self) -> i64 {
        let mut reads = 0;
        while self.next_read_at(0, reads) < self.lifetime_ms {
            reads += 1;
        }
        reads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: Schedule = Schedule {
        first_read_ms: 10_000,
        interval_ms: 60_000,
        steady_reads: 5,
        backoff: 1.1,
        cap_ms: 900_000,
        lifetime_ms: 86_400_000,
    };

    #[test]
    fn reads_come_once_a_minute_for_five_minutes_then_back_off_to_the_cap() {
        let at: Vec<i64> = (0..9).map(|n| SCHEDULE.next_read_at(0, n) / 1000).collect();
        assert_eq!(at, [10, 70, 130, 190, 250, 310, 376, 448, 528]);
        let late = SCHEDULE.next_read_at(0, 60) - SCHEDULE.next_read_at(0, 59);
        assert_eq!(late, 900_000, "capped");
        let bound = SCHEDULE.max_reads();
        assert!(
            bound < 140,
            "a container costs a bounded number of reads: {bound}"
        );
        let doubling = Schedule {
            backoff: 2.0,
            ..SCHEDULE
        };
        let at: Vec<i64> = (5..9).map(|n| doubling.next_read_at(0, n) / 1000).collect();
        assert_eq!(at, [310, 430, 670, 1150]);
    }
}
