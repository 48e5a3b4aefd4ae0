//! The gateway's bookkeeping around a call: the budget's slot before it, and
//! what its answer said about the budgets after it, in one statement.

use std::sync::atomic::Ordering;

use graphhook_graph::answer::Throttled;
use graphhook_graph::Usage;

use super::{allowed, Gateway, GatewayError};
use crate::domain::budget::{merged, observe, spacing_ms, verdict, Scope};
use crate::domain::ids::AppId;
use crate::store::StoreError;

/// Use-case types of `X-Business-Use-Case-Usage` kept as metric labels.
const USAGE_KINDS: [&str; 6] = [
    "app",
    "instagram",
    "pages",
    "ads_management",
    "messenger",
    "throttle",
];

/// The held-accounts gauge is counted again at most this often, unless an
/// answer holds something (holds end by themselves, so it is counted on a
/// clock, not kept by arithmetic).
const HELD_RECOUNT_MS: i64 = 10_000;

impl Gateway {
    /// Records what an answer's usage headers and throttle say about the
    /// budgets (one statement, and none when it said nothing), and keeps the
    /// held-accounts gauge.
    pub(super) async fn record_usage(
        &self,
        app_id: &AppId,
        account_id: &str,
        usage: &Usage,
        throttled: Option<Throttled>,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        let now = self.now_ms();
        let observations = merged(observe(&inner.policy, now, usage, throttled, account_id));
        for observation in &observations {
            let kind = USAGE_KINDS
                .iter()
                .find(|k| **k == observation.kind)
                .copied()
                .unwrap_or("other");
            if let Some(permille) = observation.usage_permille {
                inner
                    .metrics
                    .graph_usage
                    .with_label_values(&[app_id, kind])
                    .set(permille as f64 / 1000.0);
            }
        }
        inner
            .store
            .record_budgets(app_id, &observations, now)
            .await?;
        let holds = observations.iter().any(|o| o.held_until_ms.is_some());
        let counted = inner.held_counted_at_ms.load(Ordering::Relaxed);
        if holds || now.saturating_sub(counted) >= HELD_RECOUNT_MS {
            inner.held_counted_at_ms.store(now, Ordering::Relaxed);
            inner
                .metrics
                .graph_accounts_held
                .set(inner.store.held_objects(now).await?);
        }
        Ok(())
    }

    /// Refuses a held or spaced call; otherwise takes the next slot of every
    /// budget that is spaced out.
    pub(super) async fn take_slot(
        &self,
        app_id: &AppId,
        account_id: &str,
    ) -> Result<(), GatewayError> {
        let inner = &self.inner;
        let now = self.now_ms();
        let (app, object) = inner.store.budgets(app_id, account_id).await?;
        allowed(verdict(now, app, object))?;
        let budgets = [
            (Scope::App, app),
            (Scope::Object(account_id.to_owned()), object),
        ];
        for (scope, state) in budgets {
            let Some(state) = state else { continue };
            let spacing = spacing_ms(&inner.policy, state.usage_permille);
            if spacing > 0
                && !inner
                    .store
                    .take_call_slot(app_id, &scope, now, spacing)
                    .await?
            {
                return Err(GatewayError::Spaced {
                    until_ms: now + spacing,
                });
            }
        }
        Ok(())
    }
}
