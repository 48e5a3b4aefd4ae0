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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use graphhook_kafka::Topics;
use graphhook_schema::graph_error::ErrorClass;
use graphhook_schema::output::{PublicationError, PublishStatus};
use graphhook_schema::publishing::PublicationKind;

use super::intake::{queue_status, Change};
use super::meta::{Caller, ContainerStatus, PublishCallError};
use super::PublishingSettings;
use crate::clock::SharedClock;
use crate::domain::publication::{container_failure, ContainerFailure, Publication};
use crate::gateway::{Gateway, GatewayError};
use crate::metrics::ProcessorMetrics;
use crate::pipeline::relay::Relay;
use crate::store::{Store, StoreError};
use crate::tokens::manager::{Credentials, CredentialsError, TokenManager};
use crate::tokens::TokenKind;
use crate::unit_of_work::UnitOfWork;

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
    relay: Relay,
    metrics: ProcessorMetrics,
    owner: String,
    /// `content_publishing_limit` answers by app and account.
    quota: Mutex<HashMap<(String, String), QuotaRead>>,
}

/// A read of `content_publishing_limit`: when (ms), posts in the window, allowance.
type QuotaRead = (i64, i64, i64);

/// What the tracker works with.
pub struct TrackerParts {
    /// The store.
    pub store: Store,
    /// Topic names.
    pub topics: Topics,
    /// The Graph gateway.
    pub gateway: Gateway,
    /// The token manager.
    pub tokens: TokenManager,
    /// `[publishing]`.
    pub settings: PublishingSettings,
    /// The clock.
    pub clock: SharedClock,
    /// The outbox relay.
    pub relay: Relay,
    /// Metrics.
    pub metrics: ProcessorMetrics,
}

/// One step's work on a publication: the changes to record, in order.
struct Step {
    p: Publication,
    changes: Vec<Change>,
    now: i64,
}

impl Step {
    /// Moves to `status` and records the change; staying in a state records
    /// nothing.
    fn enter(&mut self, status: PublishStatus, reason: Option<&'static str>) {
        if self.p.state == status {
            return;
        }
        self.p.state = status;
        if status.is_final() {
            self.p.done_at_ms = Some(self.now);
        }
        self.changes.push(Change { status, reason });
    }

    fn fail(&mut self, class: &str, code: Option<i64>, subcode: Option<i64>, text: Option<String>) {
        self.p.error = Some(PublicationError {
            class: class.to_owned(),
            code,
            subcode,
            text,
        });
        self.enter(PublishStatus::Failed, None);
    }
}

/// What one look at a carousel item found.
enum ChildStep {
    Created(String),
    Finished,
    NotYet,
    Gone,
    Failed(PublishCallError),
}

/// A failed call's class, code and subcode, or the budget's answer.
enum Failed {
    Budget {
        held: bool,
        until_ms: i64,
    },
    Call {
        class: ErrorClass,
        code: Option<i64>,
        subcode: Option<i64>,
        text: Option<String>,
    },
}

fn failed(error: PublishCallError) -> Failed {
    match error {
        PublishCallError::Gateway(GatewayError::Held { until_ms }) => Failed::Budget {
            held: true,
            until_ms,
        },
        PublishCallError::Gateway(GatewayError::Spaced { until_ms }) => Failed::Budget {
            held: false,
            until_ms,
        },
        PublishCallError::Gateway(GatewayError::Call(error)) => Failed::Call {
            class: error.class,
            code: error.failure.code,
            subcode: error.failure.subcode,
            text: error
                .error
                .as_ref()
                .and_then(|e| e.error_user_title.clone()),
        },
        PublishCallError::Gateway(GatewayError::Store(_)) | PublishCallError::Malformed(_) => {
            Failed::Call {
                class: ErrorClass::RetryLater,
                code: None,
                subcode: None,
                text: None,
            }
        }
    }
}

impl Tracker {
    /// A tracker over `parts`.
    pub fn new(parts: TrackerParts) -> Self {
        Tracker {
            inner: Arc::new(Inner {
                store: parts.store,
                topics: parts.topics,
                gateway: parts.gateway,
                tokens: parts.tokens,
                settings: parts.settings,
                clock: parts.clock,
                relay: parts.relay,
                metrics: parts.metrics,
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
            let committed = uow.commit().await?;
            committed.report.record(&inner.metrics, now);
            Ok(true)
        }
        .await;
        match result {
            Ok(true) => {
                if !step.changes.is_empty() {
                    self.observe(step, now);
                    inner.relay.wake();
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

    /// The account's token, or the publication is held.
    async fn credentials(&self, step: &mut Step) -> Option<Credentials> {
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

    fn hold(&self, step: &mut Step, reason: &'static str, until_ms: i64) {
        if step.p.state != PublishStatus::Held {
            step.p.held_from = Some(step.p.state);
            step.enter(PublishStatus::Held, Some(reason));
        }
        step.p.next_action_at_ms = until_ms;
    }

    fn retry_ms(&self, attempt: i64) -> i64 {
        let initial = PublishingSettings::ms(self.inner.settings.retry_initial_secs);
        let shift = u32::try_from(attempt.clamp(1, 10) - 1).unwrap_or(0);
        initial
            .saturating_mul(1 << shift)
            .min(PublishingSettings::ms(self.inner.settings.poll_cap_secs))
    }

    /// Handles a call that failed in a way every call shares: the budget (space
    /// out, or hold), a reconnect-class answer (hold: the gateway flagged the
    /// account), or a transient failure (retry later). `true` when handled.
    fn common_failure(&self, step: &mut Step, failed: &Failed) -> bool {
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

    fn caller<'a>(&'a self, step: &'a Step, credentials: &'a Credentials) -> Caller<'a> {
        Caller {
            gateway: &self.inner.gateway,
            app_id: &step.p.app_id,
            account_id: &step.p.account_id,
            credentials,
        }
    }

    /// Creates the container (children first, for a carousel).
    async fn create(&self, step: &mut Step) {
        if let Some(existing) = step.p.request.container_id.clone() {
            step.p.container_id = Some(existing);
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
                    class: ErrorClass::FixRequest,
                    code,
                    subcode,
                    text,
                } = failed
                {
                    step.fail("fix_request", code, subcode, text);
                } else {
                    // Nothing publishable exists yet: creating again is harmless.
                    step.p.next_action_at_ms = step.now + self.retry_ms(step.p.calls);
                }
            }
        }
    }

    /// Creates and follows a carousel's items; `true` once all are finished.
    async fn children_ready(&self, step: &mut Step, credentials: &Credentials) -> bool {
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
                            class: ErrorClass::FixRequest,
                            code,
                            subcode,
                            text,
                        } = failed
                        {
                            step.fail("fix_request", code, subcode, text);
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

    fn child_failed(&self, step: &mut Step, subcode: Option<i64>, text: Option<String>) -> bool {
        match container_failure(subcode, step.p.attempts) {
            ContainerFailure::Input => step.fail("fix_request", None, subcode, text),
            _ if step.p.attempts + 1
                >= i64::try_from(self.inner.settings.max_containers).unwrap_or(3) =>
            {
                step.fail("retried_out", None, subcode, text)
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
    async fn read_status(&self, step: &mut Step) {
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

    fn container_error(&self, step: &mut Step, subcode: Option<i64>, text: Option<String>) {
        let max = i64::try_from(self.inner.settings.max_containers).unwrap_or(3);
        match container_failure(subcode, step.p.attempts) {
            ContainerFailure::Input => step.fail("fix_request", None, subcode, text),
            ContainerFailure::Gone if step.p.reads < 3 => {
                step.p.next_action_at_ms = step.now + 60_000;
            }
            _ if step.p.attempts >= max => step.fail("retried_out", None, subcode, text),
            _ => {
                step.p.container_id = None;
                step.p.container_created_at_ms = None;
                step.p.children = vec![Default::default(); step.p.children.len()];
                step.enter(PublishStatus::Requested, Some("new_container"));
                step.p.next_action_at_ms = step.now;
            }
        }
    }

    /// Publishes a ready container (quota first), at most once unless a status
    /// read showed it unpublished.
    async fn publish(&self, step: &mut Step) {
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
                        class: ErrorClass::NotReady,
                        ..
                    } => {
                        step.p.publish_sent = false;
                        step.enter(PublishStatus::Ready, Some("media_not_ready"));
                        step.p.next_action_at_ms = step.now
                            + PublishingSettings::ms(self.inner.settings.not_ready_retry_secs);
                    }
                    Failed::Call {
                        class: ErrorClass::FixRequest,
                        code,
                        subcode,
                        text,
                    } => {
                        step.p.publish_sent = false;
                        step.fail("fix_request", *code, *subcode, text.clone());
                    }
                    Failed::Call {
                        code: Some(9),
                        subcode: Some(2_207_042),
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
                        class: ErrorClass::Reconnect,
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
    async fn quota_free(&self, step: &mut Step, credentials: &Credentials) -> Option<bool> {
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

    fn forget_quota(&self, step: &Step) {
        if let Ok(mut quota) = self.inner.quota.lock() {
            quota.remove(&(step.p.app_id.clone(), step.p.account_id.clone()));
        }
    }

    /// Resolves a publish whose outcome is unknown with a status read.
    async fn reconcile(&self, step: &mut Step) {
        let Some(credentials) = self.credentials(step).await else {
            return;
        };
        let Some(container) = step.p.container_id.clone() else {
            step.fail("unknown_outcome", None, None, None);
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
                step.fail("unknown_outcome", None, subcode, text)
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
    async fn resume(&self, step: &mut Step) {
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

    /// A Page post: published through the Page; confirmed by its `feed` webhook,
    /// read once only when none came in time.
    async fn page_post(&self, step: &mut Step) {
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
                        class: ErrorClass::FixRequest,
                        code,
                        subcode,
                        text,
                    } => {
                        step.p.publish_sent = false;
                        step.fail("fix_request", *code, *subcode, text.clone());
                    }
                    Failed::Call {
                        class: ErrorClass::Reconnect,
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
    async fn confirm_post(&self, step: &mut Step) {
        let Some(post_id) = step.p.post_id.clone() else {
            step.fail(
                "unknown_outcome",
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
                "unknown_outcome",
                None,
                None,
                Some("the post is not published".into()),
            ),
            Err(error) => {
                let failed = failed(error);
                if let Failed::Call {
                    class: ErrorClass::FixRequest,
                    code,
                    subcode,
                    ..
                } = failed
                {
                    step.fail(
                        "unknown_outcome",
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
            let ids: Vec<String> = p.children.iter().filter_map(|c| c.id.clone()).collect();
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
