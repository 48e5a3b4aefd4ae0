//! The Graph API call budget, decided from what Meta said: usage headers
//! (`X-App-Usage` per app, `X-Business-Use-Case-Usage` per business object) and
//! throttle answers. Shared by every replica through the store.
//!
//! - Above `slow_down_share` of an allowance, calls for that app or object are
//!   spaced out, more the closer the usage is to the end of the allowance.
//! - At a throttle answer, a regain time, or the end of the allowance, nothing is
//!   called for that object (or, for the app's own limit, that app) until the
//!   regain time has passed: calls made while throttled extend the throttle.
//!   Other accounts are not held.

use graphhook_graph::answer::Throttled;
use graphhook_graph::Usage;

/// What the store holds for an app or object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BudgetState {
    /// The usage share, per mille.
    pub usage_permille: i64,
    /// Nothing is called before this time, epoch ms.
    pub held_until_ms: i64,
    /// The next call may be made at this time (spacing), epoch ms.
    pub next_call_at_ms: i64,
}

/// Whether a call may be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Call.
    Go,
    /// Usage is high: the next call for this app or object is due at `until_ms`.
    Spaced {
        /// When.
        until_ms: i64,
    },
    /// Throttled: nothing is called before `until_ms`.
    Held {
        /// When.
        until_ms: i64,
    },
}

/// The budget's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Spacing starts above this share of an allowance.
    pub slow_down_share: f64,
    /// The spacing at the allowance's end, ms.
    pub max_spacing_ms: i64,
    /// How long a throttle without a regain time holds, ms.
    pub throttle_hold_ms: i64,
}

/// Whose budget an observation is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The app as a whole.
    App,
    /// A business object: the Instagram account, the Page, ...
    Object(String),
}

/// What one answer says about a budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Whose budget.
    pub scope: Scope,
    /// `app` or the business use case (`instagram`, `pages`, ...).
    pub kind: String,
    /// The usage share, per mille, when a header said it (a throttle answer alone
    /// leaves the recorded usage as it was).
    pub usage_permille: Option<i64>,
    /// Hold until this time, when the answer throttles.
    pub held_until_ms: Option<i64>,
}

/// Whether a call for an object of an app may be made at `now_ms`.
pub fn verdict(now_ms: i64, app: Option<BudgetState>, object: Option<BudgetState>) -> Verdict {
    let states = || app.iter().chain(object.iter());
    let held = states().map(|s| s.held_until_ms).max().unwrap_or(0);
    if held > now_ms {
        return Verdict::Held { until_ms: held };
    }
    let next = states().map(|s| s.next_call_at_ms).max().unwrap_or(0);
    if next > now_ms {
        return Verdict::Spaced { until_ms: next };
    }
    Verdict::Go
}

/// The spacing between calls at `usage_permille` of an allowance.
pub fn spacing_ms(policy: &Policy, usage_permille: i64) -> i64 {
    let share = usage_permille as f64 / 1000.0;
    if share <= policy.slow_down_share {
        return 0;
    }
    let over = ((share - policy.slow_down_share) / (1.0 - policy.slow_down_share)).min(1.0);
    (policy.max_spacing_ms as f64 * over).round() as i64
}

fn permille(share: f64) -> i64 {
    (share * 1000.0).round() as i64
}

/// What an answer (its usage headers and, for a throttle answer, whom it
/// throttles: see `graphhook_graph::answer`) says about the budgets of the app
/// and of `object_id` (the account called for).
pub fn observe(
    policy: &Policy,
    now_ms: i64,
    usage: &Usage,
    throttled: Option<Throttled>,
    object_id: &str,
) -> Vec<Observation> {
    let mut seen = Vec::new();
    if let Some(app) = &usage.app {
        let share = app.share();
        seen.push(Observation {
            scope: Scope::App,
            kind: "app".to_owned(),
            usage_permille: Some(permille(share)),
            held_until_ms: (share >= 1.0).then_some(now_ms + policy.throttle_hold_ms),
        });
    }
    for business in &usage.business {
        let regain = i64::try_from(business.regain_minutes)
            .unwrap_or(i64::MAX / 120_000)
            .saturating_mul(60_000);
        let held = if regain > 0 {
            Some(now_ms.saturating_add(regain))
        } else {
            (business.share >= 1.0).then_some(now_ms + policy.throttle_hold_ms)
        };
        seen.push(Observation {
            scope: Scope::Object(business.object_id.clone()),
            kind: business.kind.clone(),
            usage_permille: Some(permille(business.share)),
            held_until_ms: held,
        });
    }
    if let Some(throttled) = throttled {
        // A throttle answer holds what it throttles, unless a header said for how long.
        let scope = match throttled {
            Throttled::App => Scope::App,
            Throttled::Account => Scope::Object(object_id.to_owned()),
        };
        let covered = seen
            .iter()
            .any(|o| o.scope == scope && o.held_until_ms.is_some());
        let applies = match &scope {
            Scope::App => true,
            Scope::Object(id) => !id.is_empty(),
        };
        if applies && !covered {
            seen.push(Observation {
                kind: if scope == Scope::App {
                    "app"
                } else {
                    "throttle"
                }
                .to_owned(),
                scope,
                usage_permille: None,
                held_until_ms: Some(now_ms + policy.throttle_hold_ms),
            });
        }
    }
    seen
}

/// One observation per scope, so that one statement records an answer: the
/// highest usage said (with its kind) and the latest hold. An observation that
/// says no usage (a throttle answer alone) keeps its kind only when nothing else
/// about that scope said a usage.
pub fn merged(observations: Vec<Observation>) -> Vec<Observation> {
    let mut merged: Vec<Observation> = Vec::with_capacity(observations.len());
    for observation in observations {
        let Some(same) = merged.iter_mut().find(|o| o.scope == observation.scope) else {
            merged.push(observation);
            continue;
        };
        if observation.usage_permille > same.usage_permille {
            same.usage_permille = observation.usage_permille;
            same.kind = observation.kind;
        }
        same.held_until_ms = same.held_until_ms.max(observation.held_until_ms);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphhook_graph::{AppUsage, BusinessUsage};

    const POLICY: Policy = Policy {
        slow_down_share: 0.8,
        max_spacing_ms: 60_000,
        throttle_hold_ms: 300_000,
    };

    fn business(object: &str, share: f64, regain_minutes: u64) -> Usage {
        Usage {
            app: None,
            business: vec![BusinessUsage {
                object_id: object.into(),
                kind: "instagram".into(),
                share,
                regain_minutes,
            }],
        }
    }

    #[test]
    fn a_regain_time_holds_that_object_for_that_many_minutes() {
        let seen = observe(&POLICY, 1_000, &business("a1", 0.95, 12), None, "a1");
        assert_eq!(
            seen,
            vec![Observation {
                scope: Scope::Object("a1".into()),
                kind: "instagram".into(),
                usage_permille: Some(950),
                held_until_ms: Some(1_000 + 12 * 60_000),
            }]
        );
    }

    #[test]
    fn usage_above_the_share_spaces_calls_out_and_holds_at_the_end() {
        assert_eq!(spacing_ms(&POLICY, 700), 0);
        assert_eq!(spacing_ms(&POLICY, 800), 0);
        assert_eq!(spacing_ms(&POLICY, 900), 30_000);
        assert_eq!(spacing_ms(&POLICY, 1_200), 60_000);
        let full = Usage {
            app: Some(AppUsage {
                call_count: 100.0,
                total_time: 3.0,
                total_cputime: 3.0,
            }),
            business: vec![],
        };
        let seen = observe(&POLICY, 5, &full, None, "a1");
        assert_eq!(seen[0].scope, Scope::App);
        assert_eq!(seen[0].held_until_ms, Some(300_005));
    }

    #[test]
    fn a_throttle_answer_without_headers_holds_the_account_or_for_code_4_the_app() {
        let seen = observe(
            &POLICY,
            0,
            &Usage::default(),
            Some(Throttled::Account),
            "a1",
        );
        assert_eq!(seen[0].scope, Scope::Object("a1".into()));
        assert_eq!(seen[0].held_until_ms, Some(300_000));
        let seen = observe(&POLICY, 0, &Usage::default(), Some(Throttled::App), "a1");
        assert_eq!(seen[0].scope, Scope::App);
        let covered = observe(
            &POLICY,
            0,
            &business("a1", 1.0, 2),
            Some(Throttled::Account),
            "a1",
        );
        assert_eq!(covered.len(), 1, "the header said for how long");
        assert_eq!(covered[0].held_until_ms, Some(120_000));
    }

    #[test]
    fn observations_of_one_scope_merge_into_the_highest_usage_and_the_latest_hold() {
        let observation = |scope: Scope, kind: &str, usage, held| Observation {
            scope,
            kind: kind.into(),
            usage_permille: usage,
            held_until_ms: held,
        };
        let a1 = || Scope::Object("a1".into());
        let merged = merged(vec![
            observation(Scope::App, "app", Some(300), None),
            observation(a1(), "instagram", Some(400), Some(50)),
            observation(a1(), "pages", Some(900), None),
            observation(a1(), "throttle", None, Some(70)),
            observation(Scope::Object("a2".into()), "throttle", None, Some(10)),
        ]);
        assert_eq!(
            merged,
            vec![
                observation(Scope::App, "app", Some(300), None),
                observation(a1(), "pages", Some(900), Some(70)),
                observation(Scope::Object("a2".into()), "throttle", None, Some(10)),
            ]
        );
    }

    #[test]
    fn verdicts_hold_before_they_space() {
        let held = BudgetState {
            held_until_ms: 500,
            ..BudgetState::default()
        };
        let spaced = BudgetState {
            next_call_at_ms: 300,
            ..BudgetState::default()
        };
        assert_eq!(
            verdict(100, Some(spaced), Some(held)),
            Verdict::Held { until_ms: 500 }
        );
        assert_eq!(
            verdict(100, Some(spaced), None),
            Verdict::Spaced { until_ms: 300 }
        );
        assert_eq!(verdict(600, Some(spaced), Some(held)), Verdict::Go);
        assert_eq!(verdict(0, None, None), Verdict::Go);
    }
}
