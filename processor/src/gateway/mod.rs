//! Every Graph API call graphhook makes goes through the gateway: the call budget
//! shared by every replica decides whether it may be made now; the answer's usage
//! headers and throttles are recorded; a reconnect-class answer for an account
//! flags it through the same state machine as the errors client services report
//! on `graph-errors.v1`.

mod app_secrets;
mod bookkeeping;
mod error;

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Instant;

use graphhook_graph::answer::Action;
use graphhook_graph::{Answer, Call, CallError, GraphClient};
use graphhook_kafka::Topics;

use crate::apply::transitions::{transition_account, AccountChange};
use crate::clock::SharedClock;
use crate::domain::account::Trigger;
use crate::domain::budget::{verdict, Policy, Verdict};
use crate::domain::ids::{AccountId, AppId};
use crate::metrics::ProcessorMetrics;
use crate::services::Services;
use crate::store::Store;
use crate::unit_of_work::{UnitOfWork, WorkError};

pub use app_secrets::{AppSecrets, MetaApp};
pub use error::GatewayError;

/// The gateway. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    client: GraphClient,
    apps: AppSecrets,
    store: Store,
    clock: SharedClock,
    policy: Policy,
    metrics: ProcessorMetrics,
    topics: Topics,
    /// When the held-accounts gauge was last counted (epoch ms).
    held_counted_at_ms: AtomicI64,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("client", &self.inner.client)
            .finish()
    }
}

/// The budgets' verdict as the gateway answers it: go, or the refusal.
fn allowed(verdict: Verdict) -> Result<(), GatewayError> {
    match verdict {
        Verdict::Go => Ok(()),
        Verdict::Spaced { until_ms } => Err(GatewayError::Spaced { until_ms }),
        Verdict::Held { until_ms } => Err(GatewayError::Held { until_ms }),
    }
}

impl Gateway {
    /// A gateway calling through `client`; calls carry `appsecret_proof` with
    /// the secrets of `apps`.
    pub fn new(client: GraphClient, services: &Services) -> Self {
        let settings = client.settings();
        let policy = Policy {
            slow_down_share: settings.slow_down_share,
            max_spacing_ms: i64::try_from(settings.max_spacing_ms).unwrap_or(i64::MAX),
            throttle_hold_ms: i64::try_from(settings.throttle_hold_secs.saturating_mul(1000))
                .unwrap_or(i64::MAX),
        };
        Gateway {
            inner: Arc::new(Inner {
                client,
                apps: services.apps.clone(),
                store: services.store.clone(),
                clock: services.clock.clone(),
                policy,
                metrics: services.metrics.clone(),
                topics: services.topics.clone(),
                held_counted_at_ms: AtomicI64::new(i64::MIN),
            }),
        }
    }

    /// The clock the gateway decides with.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Whether a call for `account_id` of `app_id` may be made now (takes no slot).
    pub async fn check(&self, app_id: &AppId, account_id: &AccountId) -> Result<(), GatewayError> {
        let (app, object) = self.inner.store.budgets(app_id, account_id).await?;
        allowed(verdict(self.now_ms(), app, object))
    }

    /// Makes `call` for an account: the budget of the app and the account applies,
    /// and a reconnect-class answer flags the account.
    pub async fn call_for_account(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        call: Call,
    ) -> Result<Answer, GatewayError> {
        let result = self.call(app_id, Some(account_id), call).await;
        if let Err(GatewayError::Call(error)) = &result {
            if matches!(error.action(), Action::Reconnect(_)) {
                if let Err(failure) = self.flag_account(app_id, account_id, error).await {
                    tracing::warn!(error = %failure, %app_id, %account_id, "cannot flag the account after a reconnect-class answer; the next call will");
                }
            }
        }
        result
    }

    /// Makes `call` on the app's behalf (`debug_token`): only the app's budget
    /// applies, and no account is flagged by its answer.
    pub async fn call_for_app(&self, app_id: &AppId, call: Call) -> Result<Answer, GatewayError> {
        self.call(app_id, None, call).await
    }

    /// Makes `call` for `account` (`None`: on the app's behalf).
    #[tracing::instrument(name = "graph_call", skip_all, fields(
        app_id = %app_id, account_id = account.map(AccountId::as_str), endpoint = call.endpoint,
    ))]
    async fn call(
        &self,
        app_id: &AppId,
        account: Option<&AccountId>,
        call: Call,
    ) -> Result<Answer, GatewayError> {
        // The business object whose budget applies ("": the app's alone).
        let account_id = account.map_or("", AccountId::as_str);
        let inner = &self.inner;
        let endpoint = call.endpoint;
        if let Err(refused) = self.take_slot(app_id, account_id).await {
            let reason = match refused {
                GatewayError::Held { .. } => "held",
                _ => "spaced",
            };
            inner
                .metrics
                .graph_refused
                .with_label_values(&[endpoint, reason])
                .inc();
            return Err(refused);
        }
        let mut call = call.for_account(app_id, account_id);
        if let Some(key) = inner.apps.proof_key(app_id, call.host) {
            call = call.proved_with(key);
        }
        let started = Instant::now();
        let result = inner.client.call(&call).await;
        inner
            .metrics
            .graph_call_duration
            .with_label_values(&[endpoint])
            .observe(started.elapsed().as_secs_f64());
        let (usage, class, throttled) = match &result {
            Ok(answer) => (&answer.usage, "ok", None),
            Err(error) => {
                let throttled = match error.action() {
                    Action::Throttle(throttled) => Some(throttled),
                    _ => None,
                };
                (&error.usage, error.class.as_str(), throttled)
            }
        };
        inner
            .metrics
            .graph_calls
            .with_label_values(&[endpoint, class])
            .inc();
        // The call was made: its result stands whatever happens to the
        // bookkeeping (a published media's id must never be lost to a failed
        // budget write).
        if let Err(error) = self
            .record_usage(app_id, account_id, usage, throttled)
            .await
        {
            inner
                .metrics
                .graph_bookkeeping_failures
                .with_label_values(&[endpoint])
                .inc();
            tracing::warn!(%error, endpoint, %app_id, %account_id, "the Graph call's usage could not be recorded; its result stands");
        }
        Ok(result?)
    }

    /// Applies the answer to the account's state machine, as a reported error is.
    #[tracing::instrument(name = "unit_of_work", skip_all, fields(
        app_id = %app_id, account_id = %account_id, endpoint = error.endpoint,
    ))]
    async fn flag_account(
        &self,
        app_id: &AppId,
        account_id: &AccountId,
        error: &CallError,
    ) -> Result<(), WorkError> {
        let inner = &self.inner;
        let now = self.now_ms();
        let source = format!(
            "graph-call/{}/{}",
            error.endpoint,
            uuid::Uuid::new_v4().simple()
        );
        let mut uow = UnitOfWork::begin(&inner.store, &inner.topics, now).await?;
        let change = AccountChange {
            app_id,
            account_id,
            trigger: Trigger::GraphError {
                http_status: error.failure.http_status,
                code: error.failure.code,
                subcode: error.failure.subcode,
                is_transient: error.failure.is_transient,
            },
            at_ms: now,
            source_id: &source,
        };
        let transition = transition_account(&mut uow, &change).await?;
        uow.commit_and_wake(&inner.metrics).await?;
        if transition.is_some() {
            tracing::warn!(%app_id, %account_id, endpoint = error.endpoint, "a Graph API answer needs the account reconnected");
        }
        Ok(())
    }
}
