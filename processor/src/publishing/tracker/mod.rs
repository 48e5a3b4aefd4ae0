//! The publication tracker. Each pass claims the publications that are due (a lease
//! with a new fencing value per claim: one owner per container across any number
//! of replicas) and moves each one step, following Meta's schedule:
//!
//! `requested -> container_created -> processing -> ready -> publishing ->
//! published`, with `quota_wait` and `held` as pauses, `outcome_unknown` resolved by
//! a status read (never by a second publish), and `failed` and `expired` as ends.
//!
//! Never a double post: `publishing` with `publish_sent` is written before
//! `media_publish` is called. Any answer but a success, "not ready" or a refusal of
//! the input leaves the outcome unknown, and so does a successor finding
//! `publish_sent` after its owner died: the container's status is read first, and
//! only a read showing it unpublished allows publishing it again.

mod containers;
mod holds;
mod page_posts;
mod publish;
mod step;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use graphhook_kafka::Topics;
use graphhook_schema::output::PublishStatus;
use graphhook_schema::publishing::PublicationKind;

use super::intake::queue_status;
use super::PublishingSettings;
use crate::clock::SharedClock;
use crate::domain::ids::{AccountId, AppId};
use crate::domain::publication::Publication;
use crate::gateway::Gateway;
use crate::metrics::ProcessorMetrics;
use crate::services::Services;
use crate::store::{Store, StoreError};
use crate::tokens::manager::TokenManager;
use crate::unit_of_work::UnitOfWork;

use step::Step;

/// The tracker. Cheap to clone.
#[derive(Clone)]
pub struct Tracker {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    topics: Topics,
    gateway: Gateway,
    tokens: TokenManager,
    settings: PublishingSettings,
    clock: SharedClock,
    metrics: ProcessorMetrics,
    owner: String,
    /// `content_publishing_limit` answers by app and account.
    quota: Mutex<HashMap<(AppId, AccountId), QuotaRead>>,
}

/// A read of `content_publishing_limit`: when (ms), posts in the window, allowance.
type QuotaRead = (i64, i64, i64);

impl Tracker {
    /// A tracker calling through `gateway` with `tokens`' tokens, under
    /// `[publishing]` `settings`.
    pub fn new(
        services: &Services,
        gateway: Gateway,
        tokens: TokenManager,
        settings: PublishingSettings,
    ) -> Self {
        Tracker {
            inner: Arc::new(Inner {
                store: services.store.clone(),
                topics: services.topics.clone(),
                gateway,
                tokens,
                settings,
                clock: services.clock.clone(),
                metrics: services.metrics.clone(),
                owner: format!("tracker-{}", uuid::Uuid::new_v4().simple()),
                quota: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// How often passes run.
    pub fn tick(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.inner.settings.tick_ms)
    }

    /// One pass: claims the due publications and moves each one step. Returns how
    /// many it worked on.
    #[tracing::instrument(name = "tracker_pass", skip_all)]
    pub async fn run_pass(&self) -> Result<usize, StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let lease = PublishingSettings::ms(inner.settings.lease_secs);
        let batch = i64::try_from(inner.settings.batch).unwrap_or(64);
        let claimed = inner
            .store
            .claim_publications(&inner.owner, now, now + lease, batch)
            .await?;
        let count = claimed.len();
        let mut steps = tokio::task::JoinSet::new();
        for p in claimed {
            let tracker = self.clone();
            steps.spawn(async move { tracker.step(p).await });
        }
        while steps.join_next().await.is_some() {}
        Ok(count)
    }

    /// Moves `p` one step and records it, if this replica still owns it.
    #[tracing::instrument(name = "publication_step", skip_all, fields(
        app_id = %p.app_id, account_id = %p.account_id, request_id = %p.request_id,
        state = p.state.as_str(),
    ))]
    async fn step(&self, p: Publication) {
        let mut step = Step {
            now: self.inner.clock.now_ms(),
            p,
            changes: Vec::new(),
        };
        self.advance(&mut step).await;
        if !self.save(&mut step).await {
            tracing::info!(request_id = %step.p.request_id, "publication taken over by another replica; its step is dropped");
        }
        let _ = self
            .inner
            .store
            .release_publication(&step.p, &self.inner.owner)
            .await;
    }

    /// Writes the publication and its status records if the fence still holds.
    async fn save(&self, step: &mut Step) -> bool {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let result = async {
            let mut uow = UnitOfWork::begin(&inner.store, &inner.topics, now).await?;
            if !uow.tx.save_publication(&step.p, 0, now).await? {
                return Ok::<_, crate::unit_of_work::WorkError>(false);
            }
            let source = format!(
                "publication/{}/{}/{}/{}/{}",
                step.p.app_id, step.p.account_id, step.p.request_id, step.p.fence, step.p.calls
            );
            for change in &step.changes {
                queue_status(&mut uow, &step.p, change, &source)?;
            }
            uow.commit_and_wake(&inner.metrics).await?;
            Ok(true)
        }
        .await;
        match result {
            Ok(true) => {
                if !step.changes.is_empty() {
                    self.observe(step, now);
                }
                step.changes.clear();
                true
            }
            Ok(false) => false,
            Err(error) => {
                tracing::warn!(%error, request_id = %step.p.request_id, "cannot record a publication step; it is taken again after the lease");
                false
            }
        }
    }

    fn observe(&self, step: &Step, now: i64) {
        let metrics = &self.inner.metrics;
        for change in &step.changes {
            match change.status {
                PublishStatus::QuotaWait => metrics.publication_quota_waits.inc(),
                PublishStatus::Held => metrics
                    .publication_holds
                    .with_label_values(&[change.reason.unwrap_or("unknown")])
                    .inc(),
                PublishStatus::Ready => {
                    if let Some(not_ready) = step
                        .p
                        .last_not_ready_at_ms
                        .or(step.p.container_created_at_ms)
                    {
                        metrics
                            .publication_ready_latency
                            .observe((now - not_ready).max(0) as f64 / 1000.0);
                    }
                }
                _ => {}
            }
            if change.reason == Some("reconciled") {
                metrics
                    .publication_unknown_outcomes
                    .with_label_values(&[change.status.as_str()])
                    .inc();
            }
        }
        if step.p.state.is_final() && step.changes.iter().any(|c| c.status.is_final()) {
            metrics.publication_calls.observe(step.p.calls as f64);
        }
    }

    async fn advance(&self, step: &mut Step) {
        if step.p.kind == PublicationKind::PagePost {
            return self.page_post(step).await;
        }
        let lifetime = self.inner.settings.schedule().lifetime_ms;
        if let Some(created) = step.p.container_created_at_ms {
            let unpublished = !matches!(
                step.p.state,
                PublishStatus::Publishing | PublishStatus::OutcomeUnknown
            );
            if step.now >= created + lifetime && unpublished && step.p.state != PublishStatus::Held
            {
                step.enter(PublishStatus::Expired, None);
                return;
            }
        }
        match step.p.state {
            PublishStatus::Requested => self.create(step).await,
            PublishStatus::ContainerCreated | PublishStatus::Processing => {
                self.read_status(step).await
            }
            PublishStatus::Ready | PublishStatus::QuotaWait => self.publish(step).await,
            PublishStatus::Publishing if step.p.publish_sent => {
                step.enter(PublishStatus::OutcomeUnknown, Some("owner_lost"));
                self.reconcile(step).await;
            }
            PublishStatus::Publishing => {
                step.enter(PublishStatus::Ready, None);
                self.publish(step).await;
            }
            PublishStatus::OutcomeUnknown => self.reconcile(step).await,
            PublishStatus::Held => self.resume(step).await,
            _ => {}
        }
    }
}
